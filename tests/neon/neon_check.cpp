// Runs the NEON kernels for real. Each kernel is compiled to an AArch64
// object (codegen::object_file), linked with tests/neon/harness.c by the
// cross compiler and run under qemu-aarch64 on cases the interpreter also
// computes here; every result must have the same bits, as on x86.
//   rvj_neon_check HARNESS_C WORK_DIR
// Prints "neon checks: N passed" (N kernels), or each difference and exits 1.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "codegen/schedule.h"
#include "ir/feature_map.h"
#include "ir/interpreter.h"
#include "ir/recipes/mechanisms.h"

using namespace rvj;

namespace {

struct Bytes {
  std::string b;
  template <typename T>
  void put(const T* p, size_t n) {
    b.append(reinterpret_cast<const char*>(p), sizeof(T) * n);
  }
  template <typename T>
  void put(const std::vector<T>& v) {
    put(v.data(), v.size());
  }
  void i32(int32_t v) { put(&v, 1); }
};

std::mt19937 gen(2026);
std::vector<float> normal(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// Row kernel cases: inputs, params (with the Position slot), results.
void row_cases(const ir::Mechanism& m, const ir::Function& fn, Bytes& in, Bytes& want) {
  for (int rep = 0; rep < 3; ++rep) {
    // Small values keep hyperbolic inputs inside the ball (c |x|^2 < 1);
    // additive's tanh gets both of its branches (|x| below and above 0.625).
    const float scale = m.name == std::string("additive") ? 1.5f : 0.4f / std::sqrt(fn.dims);
    std::vector<float> data = normal(static_cast<size_t>(fn.num_inputs) * fn.dims, scale);
    if (m.name == std::string("lorentz"))  // on the hyperboloid: x0 = sqrt(1 + |x|^2)
      for (int i = 0; i < fn.num_inputs; ++i) {
        float* x = data.data() + static_cast<size_t>(i) * fn.dims;
        double s = 0;
        for (int t = 1; t < fn.dims; ++t) s += double(x[t]) * x[t];
        x[0] = static_cast<float>(std::sqrt(1 + s));
      }
    std::vector<double> params;
    for (const auto& p : m.params) params.push_back(p.default_value);
    params.push_back(-3 + rep);  // the Position slot
    in.i32(0), in.i32(fn.num_inputs), in.i32(fn.num_vec_outputs), in.i32(fn.dims), in.i32(params.size());
    in.i32(fn.num_outputs);
    in.put(data), in.put(params);
    std::vector<const float*> ptr;
    for (int i = 0; i < fn.num_inputs; ++i) ptr.push_back(data.data() + static_cast<size_t>(i) * fn.dims);
    std::vector<float> vec(static_cast<size_t>(fn.num_vec_outputs) * fn.dims);
    for (int j = 0; j < fn.num_vec_outputs; ++j) ptr.push_back(vec.data() + static_cast<size_t>(j) * fn.dims);
    std::vector<double> out(fn.num_outputs);
    ir::interpret(fn, ptr.data(), params.data(), out.data());
    want.put(out), want.put(vec);
  }
}

// Tile kernel cases: holes, bounds only (vis all ones) and every key visible
// (vis null: the kernel's unmasked path), from a state that already holds a
// block.
void tile_cases(const ir::Function& fn, Bytes& in, Bytes& want) {
  const ir::TileShape shape = codegen::tile_shape(fn, codegen::named_target("neon"));
  const int Q = shape.queries, d = fn.dims, dv = fn.value_dims;
  for (int n : {3, 37, 64})
    for (int variant = 0; variant < 3; ++variant) {  // vis, all ones, null (every key visible)
      const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
      if (variant == 2 && n != nk) continue;
      std::vector<float> qt = normal(static_cast<size_t>(d) * Q), keys = normal(static_cast<size_t>(nk) * d),
                         vals = normal(static_cast<size_t>(nk) * dv);
      std::vector<int32_t> lo(Q), hi(Q), qpos(Q), kpos(nk);
      for (int i = 0; i < Q; ++i) {
        lo[i] = variant == 2 || i % 3 == 0 ? 0 : static_cast<int32_t>(gen() % n);
        hi[i] = variant == 2 ? n : i % 5 == 4 ? lo[i] : std::min<int32_t>(n, lo[i] + 1 + static_cast<int32_t>(gen() % n));
        qpos[i] = 50 + i;
      }
      for (int j = 0; j < nk; ++j) kpos[j] = 40 + 2 * j;
      std::vector<uint8_t> vis(static_cast<size_t>(nk) * Q);
      for (auto& v : vis) v = variant == 1 || gen() % 4 != 0;
      std::vector<double> params = {0.3, 0, 0, 0};
      std::vector<float> m = normal(Q);
      std::vector<double> l(Q, 1.5), o(static_cast<size_t>(Q) * shape.o_stride, 0.25);
      in.i32(1), in.i32(Q), in.i32(nk), in.i32(n), in.i32(d), in.i32(dv), in.i32(shape.o_stride), in.i32(variant != 2);
      in.put(qt), in.put(keys), in.put(vals), in.put(lo), in.put(hi);
      if (variant != 2) in.put(vis);
      in.put(qpos), in.put(kpos), in.put(params), in.put(m), in.put(l), in.put(o);
      std::vector<const float*> k(nk), v(nk);
      for (int j = 0; j < nk; ++j) k[j] = keys.data() + static_cast<size_t>(j) * d, v[j] = vals.data() + static_cast<size_t>(j) * dv;
      std::vector<float> s(static_cast<size_t>(nk) * Q);
      ir::interpret_tile(fn, shape, qt.data(), k.data(), v.data(), lo.data(), hi.data(),
                         variant != 2 ? vis.data() : nullptr, qpos.data(), kpos.data(), params.data(), s.data(),
                         m.data(), l.data(), o.data(), n);
      for (int i = 0; i < Q; ++i)  // value lanes past dv are padding (the harness zeroes them too)
        for (int c = dv; c < shape.o_stride; ++c) o[static_cast<size_t>(i) * shape.o_stride + c] = 0;
      want.put(m), want.put(l), want.put(o);
    }
}

void query_cases(const ir::Function& fn, Bytes& in, Bytes& want) {
  const ir::TileShape shape = ir::query_shape(fn);
  const int d = fn.dims, dv = fn.value_dims, koff = 3, voff = 2;
  for (int n : {2, 17, 64}) {
    const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
    std::vector<float> q = normal(d), keys = normal(static_cast<size_t>(nk) * (koff + d)),
                       vals = normal(static_cast<size_t>(nk) * (voff + dv));
    std::vector<uint8_t> vis(nk);
    for (auto& v : vis) v = gen() % 5 != 0;
    std::vector<int32_t> kpos(nk);
    for (int j = 0; j < nk; ++j) kpos[j] = 3 * j;
    std::vector<double> params = {0.3, 0, 0, 0};
    float m = 0.5f;
    double l = 2.0;
    std::vector<double> o(shape.o_stride, -0.5);
    in.i32(2), in.i32(nk), in.i32(n), in.i32(d), in.i32(dv), in.i32(shape.o_stride), in.i32(koff), in.i32(voff);
    in.i32(20);
    in.put(q), in.put(keys), in.put(vals), in.put(vis), in.put(kpos), in.put(params), in.put(&m, 1), in.put(&l, 1);
    in.put(o);
    std::vector<const float*> k(nk), v(nk);
    for (int j = 0; j < nk; ++j)
      k[j] = keys.data() + static_cast<size_t>(j) * (koff + d), v[j] = vals.data() + static_cast<size_t>(j) * (voff + dv);
    std::vector<float> s(nk);
    ir::interpret_query(fn, q.data(), k.data(), v.data(), koff, voff, vis.data(), 20, kpos.data(), params.data(),
                        s.data(), &m, &l, o.data(), n);
    for (int c = dv; c < shape.o_stride; ++c) o[c] = 0;  // padding
    want.put(&m, 1), want.put(&l, 1), want.put(o);
  }
}

// Panel kernel cases: rows against packed panels, both layouts; the want is
// the documented chain (one fma per element, ascending), scratch zeroed.
void panel_cases(Bytes& in, Bytes& want) {
  for (int rows : {1, 4, 5, 9})
    for (int n : {1, 7, 97, 200})
      for (int cols : {1, 13, 33, 65})
        for (int columns : {0, 1}) {
          const int width = (cols + ir::kPanelWidth - 1) / ir::kPanelWidth * ir::kPanelWidth;
          std::vector<float> a = normal(static_cast<size_t>(rows) * n), d = normal(static_cast<size_t>(cols) * n);
          std::vector<float> panels(static_cast<size_t>(width) * n, 0.0f), out(static_cast<size_t>(rows) * width, 0.0f);
          for (int j = 0; j < cols; ++j)
            for (int t = 0; t < n; ++t)
              panels[static_cast<size_t>(j / ir::kPanelWidth) * n * ir::kPanelWidth + t * ir::kPanelWidth +
                     j % ir::kPanelWidth] = d[static_cast<size_t>(j) * n + t];
          for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) {
              float acc = 0;
              for (int t = 0; t < n; ++t) {
                const float x = columns ? a[static_cast<size_t>(t) * rows + i] : a[static_cast<size_t>(i) * n + t];
                acc = std::fma(x, d[static_cast<size_t>(j) * n + t], acc);
              }
              out[static_cast<size_t>(i) * width + j] = acc;
            }
          in.i32(3), in.i32(rows), in.i32(n), in.i32(cols), in.i32(width), in.i32(columns);
          in.put(a), in.put(panels);
          want.put(out);
        }
}

// Feature map kernel cases: rows with and without a vector tail, the maps'
// edges among normals; the want is ir::feature_map32.
void features_cases(ir::FeatureMap f, Bytes& in, Bytes& want) {
  for (int n : {1, 3, 4, 5, 17, 64}) {
    std::vector<float> x = normal(n, 30.0f);
    const float edges[] = {0.0f, -0.0f, -87.5f, 44.0f, 88.5f};
    for (int i = 0; i < std::min(n, 5); ++i) x[i] = edges[i];
    const float c[2] = {0.125f, 0.95f};
    const int written = f == ir::FeatureMap::CosFormer ? 2 * n : n;
    std::vector<float> out(written);
    ir::feature_map32(f, x.data(), n, out.data(), c);
    in.i32(4), in.i32(n), in.i32(written);
    in.put(c, 2), in.put(x);
    want.put(out);
  }
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Links fn's AArch64 object with the harness, runs the cases under qemu and
// compares the bytes; prints what differs.
bool check(const ir::Function& fn, const std::string& harness, const std::string& dir, const Bytes& in,
           const Bytes& want) {
  const std::string name = codegen::kernel_symbol(fn);
  const std::string obj = dir + "/" + name + ".o", prog = dir + "/" + name, cases = dir + "/" + name + ".in",
                    got_path = dir + "/" + name + ".out";
  Bytes all = in;
  all.i32(-1);
  if (!write_file(obj, codegen::object_file(fn, codegen::named_target("neon"))) || !write_file(cases, all.b)) {
    std::cerr << name << ": cannot write to " << dir << "\n";
    return false;
  }
  const std::string link = "aarch64-linux-gnu-gcc -O1 -Wall -Wextra -Werror -static -o " + prog + " " + harness + " " + obj +
                           " -lm -Wl,--defsym=rvj_row=" + name + ",--defsym=rvj_tile=" + name +
                           ",--defsym=rvj_query=" + name + ",--defsym=rvj_panel=" + name +
                           ",--defsym=rvj_features=" + name;  // the harness calls the one of fn's kind
  if (std::system(link.c_str()) != 0) {
    std::cerr << name << ": link failed: " << link << "\n";
    return false;
  }
  const std::string run = "qemu-aarch64-static " + prog + " < " + cases + " > " + got_path;
  if (std::system(run.c_str()) != 0) {
    std::cerr << name << ": the AArch64 program failed under qemu\n";
    return false;
  }
  const std::string got = read_file(got_path);
  if (got == want.b) return true;
  std::cerr << name << ": " << got.size() << " bytes from NEON, " << want.b.size() << " from the interpreter";
  for (size_t i = 0; i < std::min(got.size(), want.b.size()); ++i)
    if (got[i] != want.b[i]) {
      std::cerr << "; first difference at byte " << i;
      break;
    }
  std::cerr << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: rvj_neon_check HARNESS_C WORK_DIR\n";
    return 2;
  }
  const std::string harness = argv[1], dir = argv[2];
  int passed = 0, failed = 0;
  auto run = [&](const ir::Function& fn, const Bytes& in, const Bytes& want) {
    (check(fn, harness, dir, in, want) ? passed : failed)++;
  };
  try {
    // Every per-row kernel at awkward dims.
    for (const ir::Mechanism& m : ir::mechanisms())
      for (int d : {1, 5, 17, 64, 100, 384}) {
        const ir::Function fn = m.build(d);
        Bytes in, want;
        row_cases(m, fn, in, want);
        run(fn, in, want);
      }
    // Tile and single-query kernels of the tileable scores.
    for (const ir::Mechanism& m : ir::mechanisms()) {
      if (!ir::tileable(m)) continue;
      for (int d : {5, 64})
        for (int dv : {7, 64}) {
          const ir::Function tile = ir::tile_kernel(m.build(d), dv);
          Bytes in, want;
          tile_cases(tile, in, want);
          run(tile, in, want);
          const ir::Function query = ir::tile_kernel(m.build(d), dv + 1, ir::KernelKind::Query);
          Bytes qin, qwant;
          query_cases(query, qin, qwant);
          run(query, qin, qwant);
        }
    }
 // The panel kernel of the linear schedule's products.
    {
      Bytes in, want;
      panel_cases(in, want);
      run(ir::panel_kernel(ir::find_mechanism("feature_dot")->build(1)), in, want);
    }
    // The feature maps' kernels.
    for (ir::FeatureMap f : {ir::FeatureMap::EluPlus1, ir::FeatureMap::CosFormer, ir::FeatureMap::Favor}) {
      Bytes in, want;
      features_cases(f, in, want);
      run(ir::feature_kernel(ir::find_mechanism("feature_dot")->build(1), f), in, want);
    }
  } catch (const std::exception& e) {
    std::cerr << "neon check: " << e.what() << "\n";
    return 1;
  }
  std::cout << "neon checks: " << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
