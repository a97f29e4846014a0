/* Runs generated AArch64 kernels under emulation for tests/neon/neon_check.cpp.
 * The kernel is linked in as rvj_row, rvj_tile, rvj_query, rvj_panel and rvj_features (--defsym). Cases arrive on stdin,
 * results leave on stdout, both as raw little-endian arrays; the layouts are
 * the kernel ABIs of src/ir/ir.h, and neon_check.cpp writes and reads them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* One kernel per program, under all three names (--defsym); cases call the
 * one of its kind. */
extern void rvj_row(const float* const*, const double*, double*);
extern void rvj_tile(const float*, const float* const*, const float* const*, const int32_t*, const int32_t*,
                     const uint8_t*, const int32_t*, const int32_t*, const double*, float*, float*, double*, double*,
                     int64_t);
extern void rvj_features(const float*, int64_t, float*, const float*);
extern void rvj_panel(const float*, int64_t, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t);
extern void rvj_query(const float*, const float* const*, const float* const*, int64_t, int64_t, const uint8_t*,
                      int32_t, const int32_t*, double*, float*, float*, double*, double*, int64_t);

static void* take(size_t bytes) {
  void* p = malloc(bytes ? bytes : 1);
  if (!p || (bytes && fread(p, 1, bytes, stdin) != bytes)) {
    fprintf(stderr, "harness: short input\n");
    exit(2);
  }
  return p;
}
static int32_t take_i32(void) {
  int32_t* p = take(sizeof(int32_t));
  int32_t v = *p;
  free(p);
  return v;
}
static void give(const void* p, size_t bytes) { fwrite(p, 1, bytes, stdout); }

static void row_case(void) {
  int32_t inputs = take_i32(), vec_outputs = take_i32(), dims = take_i32(), params = take_i32(), outputs = take_i32();
  float* data = take(sizeof(float) * inputs * dims);
  double* prm = take(sizeof(double) * params);
  float* vec = calloc((size_t)vec_outputs * dims + 1, sizeof(float));
  const float* in[8];
  for (int i = 0; i < inputs; i++) in[i] = data + (size_t)i * dims;
  for (int j = 0; j < vec_outputs; j++) in[inputs + j] = vec + (size_t)j * dims;
  double out[8] = {0};
  rvj_row(in, prm, out);
  give(out, sizeof(double) * outputs);
  give(vec, sizeof(float) * vec_outputs * dims);
  free(data), free(prm), free(vec);
}

static void tile_case(void) {
  int32_t Q = take_i32(), nk = take_i32(), n = take_i32(), d = take_i32(), dv = take_i32(), stride = take_i32(),
          has_vis = take_i32();
  float* qt = take(sizeof(float) * d * Q);
  float* keys = take(sizeof(float) * nk * d);
  float* vals = take(sizeof(float) * nk * dv);
  int32_t* lo = take(sizeof(int32_t) * Q);
  int32_t* hi = take(sizeof(int32_t) * Q);
  uint8_t* vis = has_vis ? take((size_t)nk * Q) : NULL;
  int32_t* qpos = take(sizeof(int32_t) * Q);
  int32_t* kpos = take(sizeof(int32_t) * nk);
  double* prm = take(sizeof(double) * 4);
  float* m = take(sizeof(float) * Q);
  double* l = take(sizeof(double) * Q);
  double* o = take(sizeof(double) * Q * stride);
  const float** k = malloc(sizeof(float*) * nk);
  const float** v = malloc(sizeof(float*) * nk);
  for (int j = 0; j < nk; j++) k[j] = keys + (size_t)j * d, v[j] = vals + (size_t)j * dv;
  float* s = malloc(sizeof(float) * nk * Q);
  rvj_tile(qt, k, v, lo, hi, vis, qpos, kpos, prm, s, m, l, o, n);
  for (int i = 0; i < Q; i++) /* value lanes past dv are padding */
    for (int c = dv; c < stride; c++) o[(size_t)i * stride + c] = 0;
  give(m, sizeof(float) * Q);
  give(l, sizeof(double) * Q);
  give(o, sizeof(double) * Q * stride);
  free(qt), free(keys), free(vals), free(lo), free(hi), free(vis), free(qpos), free(kpos), free(prm), free(m);
  free(l), free(o), free(k), free(v), free(s);
}

static void query_case(void) {
  int32_t nk = take_i32(), n = take_i32(), d = take_i32(), dv = take_i32(), stride = take_i32(), koff = take_i32(),
          voff = take_i32(), qpos = take_i32();
  float* q = take(sizeof(float) * d);
  float* keys = take(sizeof(float) * nk * (koff + d));
  float* vals = take(sizeof(float) * nk * (voff + dv));
  uint8_t* vis = take((size_t)nk);
  int32_t* kpos = take(sizeof(int32_t) * nk);
  double* prm = take(sizeof(double) * 4);
  float* m = take(sizeof(float));
  double* l = take(sizeof(double));
  double* o = take(sizeof(double) * stride);
  const float** k = malloc(sizeof(float*) * nk);
  const float** v = malloc(sizeof(float*) * nk);
  for (int j = 0; j < nk; j++) k[j] = keys + (size_t)j * (koff + d), v[j] = vals + (size_t)j * (voff + dv);
  float* s = malloc(sizeof(float) * nk);
  rvj_query(q, k, v, koff, voff, vis, qpos, kpos, prm, s, m, l, o, n);
  for (int c = dv; c < stride; c++) o[c] = 0; /* padding */
  give(m, sizeof(float));
  give(l, sizeof(double));
  give(o, sizeof(double) * stride);
  free(q), free(keys), free(vals), free(vis), free(kpos), free(prm), free(m), free(l), free(o), free(k), free(v);
  free(s);
}

/* rows x n, as rows (columns == 0) or as columns, against panels of width
 * columns over n; out's columns past cols (scratch) are zeroed. */
static void panel_case(void) {
  int32_t rows = take_i32(), n = take_i32(), cols = take_i32(), width = take_i32(), columns = take_i32();
  float* a = take(sizeof(float) * rows * n);
  float* panels = take(sizeof(float) * width * n);
  float* out = calloc((size_t)rows * width, sizeof(float));
  if (columns)
    rvj_panel(a, 1, rows, rows, panels, cols, out, width, n);
  else
    rvj_panel(a, n, 1, rows, panels, cols, out, width, n);
  for (int i = 0; i < rows; i++)
    for (int j = cols; j < width; j++) out[(size_t)i * width + j] = 0;
  give(out, sizeof(float) * rows * width);
  free(a), free(panels), free(out);
}

/* phi of a row of n (the output: written floats, n or 2n). */
static void features_case(void) {
  int32_t n = take_i32(), written = take_i32();
  float* c = take(sizeof(float) * 2);
  float* x = take(sizeof(float) * n);
  float* out = calloc((size_t)written, sizeof(float));
  rvj_features(x, n, out, c);
  give(out, sizeof(float) * written);
  free(c), free(x), free(out);
}

int main(void) {
  for (;;) {
    int32_t kind = take_i32();
    if (kind < 0) break;
    if (kind == 0) row_case();
    else if (kind == 1) tile_case();
    else if (kind == 2) query_case();
    else if (kind == 3) panel_case();
    else features_case();
  }
  fflush(stdout);
  return 0;
}
