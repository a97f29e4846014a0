// ruvector_attention(queries[], keys[], values[], attention_type, params):
// attention of L queries over S (key, value) rows, with heads and masks,
// run by the flash schedule over query blocks. Between blocks the backend
// checks for interrupts, so statement_timeout and cancel work on long inputs.
#include "pg/errors.h"
#include "pg/models.h"
#include "ir/recipes/models.h"
#include "runtime/talking_heads.h"
#include "runtime/schedules/retention.h"
#include "runtime/schedules/nystrom.h"
#include "runtime/schedules/sinkhorn.h"
#include "pg/kernel_site.h"
#include "pg/params.h"
#include "pg/attention_sequence.h"
#include "pg/vector_arrays.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/linear.h"

using namespace rvj::pg;


namespace rvj::pg {

const rvj::ir::SequenceMechanism* sequence_mechanism(const char* type) {
  const rvj::ir::SequenceMechanism* m = nullptr;
  RVJ_ENGINE({
    m = rvj::ir::find_sequence_mechanism(type);
    if (const rvj::ir::Mechanism* own = rvj::ir::find_mechanism(type); !m && own) rvj::ir::reject_own_functions(*own);
    if (const std::string own = rvj::ir::own_sql_form(type); !m && !own.empty())
      throw rvj::Error(rvj::ErrorKind::Unsupported,
                       std::string("attention type \"") + type + "\" has no sequence form of ruvector_attention",
                       "Use " + own + ".");
    if (!m) {
      const rvj::ir::CatalogueEntry* e = rvj::ir::catalogue_entry(type);
      throw rvj::Error(e ? rvj::ErrorKind::Unsupported : rvj::ErrorKind::InvalidArgument,
                       std::string(e ? "attention type \"" + std::string(type) +
                                           "\" is not available in the sequence form of this version"
                                     : "unknown attention type \"" + std::string(type) + "\""),
                       "Sequence attention types are: " + rvj::ir::sequence_mechanism_names() + ".");
    }
  });
  return m;
}

namespace {

// The linear schedule writes its rows straight into the result array.
ArrayType* attend_linear(rvj::runtime::SequencePlan& plan, Rows q, Rows k, Rows v, Oid vector_type) {
  const double eps = plan.params.eps;
  if (size_t w = rvj::runtime::favor_weights_size(plan)) {
    double* W = (double*)palloc(sizeof(double) * w);
    RVJ_ENGINE(rvj::runtime::favor_weights(plan, W));
    plan.favor_w = W;
  }
  double* state = (double*)palloc(sizeof(double) * rvj::runtime::linear_state_size(plan));
  RVJ_ENGINE({
    rvj::runtime::linear_init(plan, state);
    rvj::runtime::bind_linear(plan, jit_enabled);
  });
  const VectorRows out = vector_rows(q.n, plan.out_dims(), vector_type);
  // Slices of whole chunks, so the rounding never depends on the threads.
  const int threads = call_threads(), step = rvj::runtime::linear_step_rows(plan, threads);
  if (plan.causal) {
    for (int q0 = 0; q0 < q.n; q0 += step) {
      CHECK_FOR_INTERRUPTS();
      const int q1 = Min(q.n, q0 + step);
      RVJ_ENGINE(rvj::runtime::run_linear(plan, eps, q.x, k.x, v.x, q0, q1, state, out.first + q0 * out.ld, out.ld,
                                          threads));
    }
    return out.finish();
  }
  // The whole state first, then the queries against it packed once.
  for (int j0 = 0; j0 < k.n; j0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int j1 = Min(k.n, j0 + step);
    RVJ_ENGINE(rvj::runtime::linear_add_keys(plan, k.x, v.x, j0, j1, state, threads));
  }
  float* packed = (float*)palloc(sizeof(float) * rvj::runtime::linear_query_size(plan));
  RVJ_ENGINE(rvj::runtime::linear_pack_state(plan, state, packed));
  for (int q0 = 0; q0 < q.n; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(q.n, q0 + step);
    RVJ_ENGINE(rvj::runtime::linear_query(plan, eps, packed, q.x, q0, q1, out.first + q0 * out.ld, out.ld, threads));
  }
  return out.finish();
}

}  // namespace

ArrayType* attend_sequence(const char* function, const rvj::ir::SequenceMechanism* m, const double* params, Rows q,
                           Rows k, Rows v, Oid vector_type) {
  rvj::runtime::SequencePlan plan;
  size_t need = 0;
  RVJ_ENGINE({
    plan = rvj::runtime::plan_sequence(*m, params, q.n, k.n, q.dim, k.dim, v.dim);
    need = rvj::runtime::call_memory(plan, call_threads());
  });
  check_work_mem(function, need);
  const int out_dims = plan.out_dims();
  if (plan.positional == rvj::ir::Positional::Rope) {
    // Rotated once per call, into memory of this call's context (the
    // caller's row pointers are left alone).
    float* qr = (float*)palloc(sizeof(float) * (size_t)q.n * q.dim);
    float* kr = (float*)palloc(sizeof(float) * (size_t)k.n * k.dim);
    RVJ_ENGINE({
      rvj::runtime::rope_rotate_rows(plan, q.x, q.n, q.dim, qr);
      rvj::runtime::rope_rotate_rows(plan, k.x, k.n, k.dim, kr);
    });
    q.x = (const float**)palloc(sizeof(float*) * q.n);
    k.x = (const float**)palloc(sizeof(float*) * k.n);
    for (int i = 0; i < q.n; i++) q.x[i] = qr + (size_t)i * q.dim;
    for (int i = 0; i < k.n; i++) k.x[i] = kr + (size_t)i * k.dim;
  }

  if (m->schedule == rvj::ir::Schedule::Linear) return attend_linear(plan, q, k, v, vector_type);

  float* out = (float*)palloc(sizeof(float) * (size_t)q.n * out_dims);
  if (m->schedule == rvj::ir::Schedule::Nystrom || m->schedule == rvj::ir::Schedule::Sinkhorn) {
    const bool nystrom = m->schedule == rvj::ir::Schedule::Nystrom;
    for (int h = 0; h < plan.heads; h++) {
      CHECK_FOR_INTERRUPTS();
      RVJ_ENGINE(nystrom ? rvj::runtime::run_nystrom_head(plan, h, q.x, k.x, v.x, out)
                         : rvj::runtime::run_sinkhorn_head(plan, h, q.x, k.x, v.x, out));
    }
    return vectors_array(out, q.n, out_dims, vector_type);
  }
  if (m->schedule == rvj::ir::Schedule::Retention) {
    if (plan.params.recurrent) {
      double* state = (double*)palloc(sizeof(double) * (size_t)plan.heads * plan.head_dim * plan.value_dim);
      RVJ_ENGINE(rvj::runtime::run_retention_recurrent(plan, q.x, k.x, v.x, state, out));
      return vectors_array(out, q.n, out_dims, vector_type);
    }
    for (int q0 = 0; q0 < q.n; q0 += plan.block) {
      CHECK_FOR_INTERRUPTS();
      const int q1 = Min(q.n, q0 + plan.block);
      RVJ_ENGINE(rvj::runtime::run_retention(plan, q.x, k.x, v.x, q0, q1, out + (size_t)q0 * out_dims));
    }
    return vectors_array(out, q.n, out_dims, vector_type);
  }
  // Bound per call: a cache lookup, and the tile kernel depends on the
  // value dimension as well as the head dimension.
  rvj::runtime::Bound score;
  RVJ_ENGINE(score = rvj::runtime::bind_sequence(plan, jit_enabled));

  // Steps of bounded work; interrupts are checked between steps (and polled
  // inside them).
  const int step = rvj::runtime::step_rows(plan, call_threads());
  for (int q0 = 0; q0 < q.n; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(q.n, q0 + step);
    RVJ_ENGINE(rvj::runtime::run_flash_parallel(plan, score, q.x, k.x, v.x, q0, q1, out + (size_t)q0 * out_dims,
                                                call_threads()));
  }
  return vectors_array(out, q.n, out_dims, vector_type);
}

}  // namespace rvj::pg

RVJ_FUNCTION(ruvector_attention) {
  auto [q, k, v, vector_type] = sequence_args(fcinfo);
  const rvj::ir::SequenceMechanism* m = sequence_mechanism(text_to_cstring(PG_GETARG_TEXT_PP(3)));
  double params[rvj::ir::kMaxParams];
  parse_params(PG_GETARG_JSONB_P(4), m->name, m->params, params);
  PG_RETURN_POINTER(attend_sequence("ruvector_attention", m, params, q, k, v, vector_type));
}


// ruvector_multi_head_attention(queries, keys, values, in_proj, out_proj,
// num_heads, in_bias, out_bias): nn.MultiheadAttention with its learned
// weights. Q, K and V are projected through Eigen (x W^T + b, W_q, W_k, W_v
// the three blocks of in_proj's rows), attended per head on the flash
// schedule, and the heads' output goes through out_proj. The projected rows
// live in this call's memory context: O((L + S) E) floats.
namespace {
Datum multi_head(Sequence seq, const float* const* win, const float* const* wout, int heads, const float* bin,
                 const float* bout, const char* function);
}  // namespace

RVJ_FUNCTION(ruvector_multi_head_attention) {
  for (int a = 0; a < 6; a++)
    if (PG_ARGISNULL(a)) PG_RETURN_NULL();
  Sequence seq = sequence_args(fcinfo);
  Rows win = rows_of(PG_GETARG_ARRAYTYPE_P(3), "in_proj", "in_proj holds W_q, W_k and W_v: 3 x embed_dim rows.");
  Rows wout = rows_of(PG_GETARG_ARRAYTYPE_P(4), "out_proj", "out_proj holds embed_dim rows.");
  const int heads = PG_GETARG_INT32(5);
  RuVector* bin = PG_ARGISNULL(6) ? nullptr : PG_GETARG_RUVECTOR_P(6);
  RuVector* bout = PG_ARGISNULL(7) ? nullptr : PG_GETARG_RUVECTOR_P(7);
  const int E = seq.q.dim;
  if (seq.k.dim != E || seq.v.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("queries, keys and values must have the embedding dimension %d, not %d and %d", E, seq.k.dim,
                           seq.v.dim)));
  if (win.n != 3 * E || win.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("in_proj must have 3 x %d rows of %d dimensions, not %d rows of %d", E, E, win.n, win.dim),
                    errhint("As nn.MultiheadAttention's in_proj_weight: W_q, W_k, W_v stacked.")));
  if (wout.n != E || wout.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("out_proj must have %d rows of %d dimensions, not %d rows of %d", E, E, wout.n, wout.dim)));
  if (bin && bin->dim != 3 * E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("in_bias must have 3 x %d = %d dimensions, not %d", E, 3 * E, bin->dim)));
  if (bout && bout->dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("out_bias must have %d dimensions, not %d", E, bout->dim)));
  return multi_head(seq, win.x, wout.x, heads, bin ? bin->x : nullptr, bout ? bout->x : nullptr,
                    "ruvector_multi_head_attention");
}

namespace {
// nn.MultiheadAttention's forward with its weights: win holds W_q, W_k, W_v
// (3E rows of E), wout E rows of E; the biases (3E and E) may be null.
Datum multi_head(Sequence seq, const float* const* win, const float* const* wout, int heads, const float* bin,
                 const float* bout, const char* function) {
  auto [q, k, v, vector_type] = seq;
  const int E = q.dim, L = q.n, S = k.n;

  const rvj::ir::SequenceMechanism* m = rvj::ir::find_sequence_mechanism("multi_head");
  double params[rvj::ir::kMaxParams];
  rvj::runtime::SequencePlan plan;
  size_t need = 0;
  RVJ_ENGINE({
    rvj::ir::default_params(m->params, params);
    rvj::ir::set_param(*m, rvj::ir::Field::NumHeads, heads, params);
    plan = rvj::runtime::plan_sequence(*m, params, L, S, E, E, E);
    // The projected queries, keys and values, the heads' output and its projection.
    need = rvj::runtime::call_memory(plan, call_threads()) +
           sizeof(float) * (size_t)E * (3 * (size_t)L + 2 * (size_t)S) + 2 * sizeof(float*) * ((size_t)L + S);
  });
  check_work_mem(function, need);
  float* qp = (float*)palloc(sizeof(float) * (size_t)L * E);
  float* kp = (float*)palloc(sizeof(float) * (size_t)S * E);
  float* vp = (float*)palloc(sizeof(float) * (size_t)S * E);
  float* att = (float*)palloc(sizeof(float) * (size_t)L * E);
  float* out = (float*)palloc(sizeof(float) * (size_t)L * E);
  const float** qr = (const float**)palloc(sizeof(float*) * L);
  const float** kr = (const float**)palloc(sizeof(float*) * S);
  const float** vr = (const float**)palloc(sizeof(float*) * S);
  const float** ar = (const float**)palloc(sizeof(float*) * L);
  for (int i = 0; i < L; i++) qr[i] = qp + (size_t)i * E, ar[i] = att + (size_t)i * E;
  for (int j = 0; j < S; j++) kr[j] = kp + (size_t)j * E, vr[j] = vp + (size_t)j * E;

  rvj::runtime::Bound score;
  RVJ_ENGINE(score = rvj::runtime::bind_sequence(plan, jit_enabled));
  project_in_slices(q.x, L, E, win, E, bin, qp);
  project_in_slices(k.x, S, E, win + E, E, bin ? bin + E : nullptr, kp);
  project_in_slices(v.x, S, E, win + 2 * E, E, bin ? bin + 2 * E : nullptr, vp);
  const int step = rvj::runtime::step_rows(plan, call_threads());
  for (int q0 = 0; q0 < L; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(L, q0 + step);
    RVJ_ENGINE(rvj::runtime::run_flash_parallel(plan, score, qr, kr, vr, q0, q1, att + (size_t)q0 * E, call_threads()));
  }
  project_in_slices(ar, L, E, wout, E, bout, out);
  PG_RETURN_POINTER(vectors_array(out, L, E, vector_type));
}
}  // namespace

namespace {
const float** tensor_rows(const Model& m, const char* name) {
  const ModelTensor* t = model_tensor(m, name);
  const float** r = (const float**)palloc(sizeof(float*) * t->shape[0]);
  for (int i = 0; i < t->shape[0]; i++) r[i] = t->data + (size_t)i * t->shape[1];
  return r;
}

// Talking heads over the given queries, keys and values (no projections).
Datum talking_heads_attention(Sequence seq, const Model& m) {
  auto [q, k, v, vector_type] = seq;
  const int H = (int)model_symbol(m, "heads");
  if (q.dim != k.dim || q.dim % H != 0 || v.dim % H != 0)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("model \"%s\" has %d heads: queries and keys need one dimension count divisible by it, "
                           "values too (got %d, %d and %d)",
                           m.name, H, q.dim, k.dim, v.dim)));
  const int dh = q.dim / H, dv = v.dim / H;
  const int B = std::min(q.n, rvj::runtime::kTalkingHeadsBlock);
  check_work_mem("ruvector_model_attention", sizeof(double) * rvj::runtime::talking_heads_memory(B, k.n, H, dh, dv) +
                                                 2 * (sizeof(float) * v.dim + 16) * (size_t)q.n);
  float* out = (float*)palloc(sizeof(float) * (size_t)q.n * v.dim);
  const float* pl = model_tensor(m, "logits_proj")->data;
  const float* pw = model_tensor(m, "weights_proj")->data;
  for (int i = 0; i < q.n; i += B) {
    CHECK_FOR_INTERRUPTS();
    const int i1 = Min(q.n, i + B);
    RVJ_ENGINE(rvj::runtime::talking_heads(q.x, k.x, v.x, i, i1, k.n, H, dh, dv, pl, pw, out + (size_t)i * v.dim));
  }
  PG_RETURN_POINTER(vectors_array(out, q.n, v.dim, vector_type));
}

// Multi-head latent attention: Q = W_Q x_q; c = W_DKV x_kv; K = W_UK c,
// V = W_UV c; heads on the flash schedule; out = W_O heads. Keys and values
// come from one set of rows, so the two arrays must be the same.
Datum latent_attention(Sequence seq, const Model& m) {
  auto [q, k, v, vector_type] = seq;
  const int E = (int)model_symbol(m, "embed_dim"), dc = (int)model_symbol(m, "latent_dim"),
            HD = (int)model_symbol(m, "heads_x_dims"), H = (int)m.config[0];
  if (q.dim != E || k.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("model \"%s\" takes rows of %d dimensions, not %d and %d", m.name, E, q.dim, k.dim)));
  bool same = k.n == v.n && k.dim == v.dim;
  for (int j = 0; same && j < k.n; j++) same = memcmp(k.x[j], v.x[j], sizeof(float) * k.dim) == 0;
  if (!same)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("multi_head_latent derives keys and values from the same rows: keys and values differ"),
                    errhint("Pass the same array as keys and as values.")));
  const int L = q.n, S = k.n;
  const rvj::ir::SequenceMechanism* mech = rvj::ir::find_sequence_mechanism("multi_head");
  double params[rvj::ir::kMaxParams];
  rvj::runtime::SequencePlan plan;
  size_t need = 0;
  RVJ_ENGINE({
    rvj::ir::default_params(mech->params, params);
    rvj::ir::set_param(*mech, rvj::ir::Field::NumHeads, H, params);
    plan = rvj::runtime::plan_sequence(*mech, params, L, S, HD, HD, HD);
    need = rvj::runtime::call_memory(plan, call_threads()) +
           sizeof(float) * ((size_t)S * (dc + 2 * (size_t)HD) + (size_t)L * (2 * (size_t)HD + E)) +
           2 * sizeof(float*) * ((size_t)L + 2 * (size_t)S);
  });
  check_work_mem("ruvector_model_attention", need);
  auto rows = [](float* base, int n, int d) {
    const float** r = (const float**)palloc(sizeof(float*) * n);
    for (int i = 0; i < n; i++) r[i] = base + (size_t)i * d;
    return r;
  };
  float* qp = (float*)palloc(sizeof(float) * (size_t)L * HD);
  float* c = (float*)palloc(sizeof(float) * (size_t)S * dc);
  float* kp = (float*)palloc(sizeof(float) * (size_t)S * HD);
  float* vp = (float*)palloc(sizeof(float) * (size_t)S * HD);
  float* att = (float*)palloc(sizeof(float) * (size_t)L * HD);
  float* out = (float*)palloc(sizeof(float) * (size_t)L * E);
  project_in_slices(q.x, L, E, tensor_rows(m, "w_q"), HD, nullptr, qp);
  project_in_slices(k.x, S, E, tensor_rows(m, "w_dkv"), dc, nullptr, c);
  const float** cr = rows(c, S, dc);
  project_in_slices(cr, S, dc, tensor_rows(m, "w_uk"), HD, nullptr, kp);
  project_in_slices(cr, S, dc, tensor_rows(m, "w_uv"), HD, nullptr, vp);
  rvj::runtime::Bound score;
  RVJ_ENGINE(score = rvj::runtime::bind_sequence(plan, jit_enabled));
  const float **qr = rows(qp, L, HD), **kr = rows(kp, S, HD), **vr = rows(vp, S, HD);
  const int step = rvj::runtime::step_rows(plan, call_threads());
  for (int q0 = 0; q0 < L; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(L, q0 + step);
    RVJ_ENGINE(rvj::runtime::run_flash_parallel(plan, score, qr, kr, vr, q0, q1, att + (size_t)q0 * HD, call_threads()));
  }
  project_in_slices(rows(att, L, HD), L, HD, tensor_rows(m, "w_o"), E, nullptr, out);
  PG_RETURN_POINTER(vectors_array(out, L, E, vector_type));
}
// The flash schedule of the multi_head mechanism with H heads over rows of
// the given widths (queries and keys dqk, values dv): out is L x dv.
// With kv_heads < H, the grouped_query mechanism (keys of dk, values of dv
// hold the key/value heads).
void flash_heads(int H, const float* const* q, int L, const float* const* k, const float* const* v, int S, int dqk,
                 int dv, float* out, size_t extra_memory, int kv_heads = 0, int dk = 0) {
  const rvj::ir::SequenceMechanism* mech = rvj::ir::find_sequence_mechanism(kv_heads ? "grouped_query" : "multi_head");
  double params[rvj::ir::kMaxParams];
  rvj::runtime::SequencePlan plan;
  size_t need = 0;
  RVJ_ENGINE({
    rvj::ir::default_params(mech->params, params);
    rvj::ir::set_param(*mech, rvj::ir::Field::NumHeads, H, params);
    if (kv_heads) rvj::ir::set_param(*mech, rvj::ir::Field::NumKvHeads, kv_heads, params);
    plan = rvj::runtime::plan_sequence(*mech, params, L, S, dqk, kv_heads ? dk : dqk, dv);
    need = rvj::runtime::call_memory(plan, call_threads()) + extra_memory;
  });
  check_work_mem("ruvector_model_attention", need);
  rvj::runtime::Bound score;
  RVJ_ENGINE(score = rvj::runtime::bind_sequence(plan, jit_enabled));
  const int step = rvj::runtime::step_rows(plan, call_threads());
  for (int q0 = 0; q0 < L; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(L, q0 + step);
    RVJ_ENGINE(rvj::runtime::run_flash_parallel(plan, score, q, k, v, q0, q1, out + (size_t)q0 * plan.out_dims(),
                                                call_threads()));
  }
}

const float** row_pointers(float* base, int n, int d) {
  const float** r = (const float**)palloc(sizeof(float*) * n);
  for (int i = 0; i < n; i++) r[i] = base + (size_t)i * d;
  return r;
}

// Grouped-query attention with projections: Q = x W_Q^T (H heads), K and V
// (G heads), the grouped_query flash schedule, then W_O.
Datum grouped_attention(Sequence seq, const Model& m) {
  auto [q, k, v, vector_type] = seq;
  const int E = (int)model_symbol(m, "embed_dim"), H = (int)m.config[0], G = (int)m.config[1];
  const int QD = (int)model_symbol(m, "heads_x_dims"), KD = (int)model_symbol(m, "kv_heads_x_dims"),
            VD = (int)model_symbol(m, "kv_heads_x_vdims"), OD = (int)model_symbol(m, "heads_x_vdims");
  const int L = q.n, S = k.n;
  if (q.dim != E || k.dim != E || v.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("model \"%s\" takes rows of %d dimensions, not %d, %d and %d", m.name, E, q.dim, k.dim,
                           v.dim)));
  float* qp = (float*)palloc(sizeof(float) * (size_t)L * QD);
  float* kp = (float*)palloc(sizeof(float) * (size_t)S * KD);
  float* vp = (float*)palloc(sizeof(float) * (size_t)S * VD);
  float* att = (float*)palloc(sizeof(float) * (size_t)L * OD);
  project_in_slices(q.x, L, E, tensor_rows(m, "w_q"), QD, nullptr, qp);
  project_in_slices(k.x, S, E, tensor_rows(m, "w_k"), KD, nullptr, kp);
  project_in_slices(v.x, S, E, tensor_rows(m, "w_v"), VD, nullptr, vp);
  flash_heads(H, row_pointers(qp, L, QD), L, row_pointers(kp, S, KD), row_pointers(vp, S, VD), S, QD, VD, att,
              sizeof(float) * ((size_t)L * (QD + 2 * (size_t)OD + E) + (size_t)S * (KD + VD)), G, KD);
  float* out = (float*)palloc(sizeof(float) * (size_t)L * E);
  project_in_slices(row_pointers(att, L, OD), L, OD, tensor_rows(m, "w_o"), E, nullptr, out);
  PG_RETURN_POINTER(vectors_array(out, L, E, vector_type));
}

// Differential attention (Ye et al. 2024, the paper's multi-head form):
// Q, K, V projected; per head A1 = softmax(Q1 K1^T / sqrt d), A2 likewise,
// (A1 - lambda A2) V, RMSNorm (weight subln), * (1 - lambda_init); W_O.
Datum differential_attention(Sequence seq, const Model& m) {
  auto [q, k, v, vector_type] = seq;
  const int E = (int)model_symbol(m, "embed_dim"), d = (int)model_symbol(m, "d"), H = (int)m.config[0];
  const int VH = (int)model_symbol(m, "heads_x_2dv"), dvh = VH / H, L = q.n, S = k.n;
  const double lambda_init = m.config[1], eps = m.config[2];
  if (q.dim != E || k.dim != E || v.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("model \"%s\" takes rows of %d dimensions, not %d, %d and %d", m.name, E, q.dim, k.dim,
                           v.dim)));
  float* qp = (float*)palloc(sizeof(float) * (size_t)L * 2 * H * d);
  float* kp = (float*)palloc(sizeof(float) * (size_t)S * 2 * H * d);
  float* vp = (float*)palloc(sizeof(float) * (size_t)S * VH);
  project_in_slices(q.x, L, E, tensor_rows(m, "w_q"), 2 * H * d, nullptr, qp);
  project_in_slices(k.x, S, E, tensor_rows(m, "w_k"), 2 * H * d, nullptr, kp);
  project_in_slices(v.x, S, E, tensor_rows(m, "w_v"), VH, nullptr, vp);
  // The halves: head h's [0, d) into the first set, [d, 2d) into the second.
  auto halves = [&](const float* x, int n, float* first, float* second) {
    for (int i = 0; i < n; i++)
      for (int h = 0; h < H; h++) {
        memcpy(first + ((size_t)i * H + h) * d, x + ((size_t)i * H + h) * 2 * d, sizeof(float) * d);
        memcpy(second + ((size_t)i * H + h) * d, x + ((size_t)i * H + h) * 2 * d + d, sizeof(float) * d);
      }
  };
  float* q1 = (float*)palloc(sizeof(float) * (size_t)L * H * d);
  float* q2 = (float*)palloc(sizeof(float) * (size_t)L * H * d);
  float* k1 = (float*)palloc(sizeof(float) * (size_t)S * H * d);
  float* k2 = (float*)palloc(sizeof(float) * (size_t)S * H * d);
  halves(qp, L, q1, q2);
  halves(kp, S, k1, k2);
  float* o1 = (float*)palloc(sizeof(float) * (size_t)L * VH);
  float* o2 = (float*)palloc(sizeof(float) * (size_t)L * VH);
  const size_t extra = sizeof(float) * ((size_t)L * (4 * (size_t)H * d + 3 * (size_t)VH + E) +
                                        (size_t)S * (4 * (size_t)H * d + VH));
  const float** vr = row_pointers(vp, S, VH);
  flash_heads(H, row_pointers(q1, L, H * d), L, row_pointers(k1, S, H * d), vr, S, H * d, VH, o1, extra);
  flash_heads(H, row_pointers(q2, L, H * d), L, row_pointers(k2, S, H * d), vr, S, H * d, VH, o2, extra);
  // lambda, then per head the difference, its RMSNorm and the scale.
  auto dot = [&](const char* a, const char* b) {
    const float *x = model_tensor(m, a)->data, *y = model_tensor(m, b)->data;
    double s = 0;
    for (int t = 0; t < d; t++) s += (double)x[t] * y[t];
    return s;
  };
  const double lambda = std::exp(dot("lambda_q1", "lambda_k1")) - std::exp(dot("lambda_q2", "lambda_k2")) + lambda_init;
  const ModelTensor* sub = model_tensor(m, "subln.weight");
  float* heads = (float*)palloc(sizeof(float) * (size_t)L * VH);
  for (int i = 0; i < L; i++)
    for (int h = 0; h < H; h++) {
      const size_t at = (size_t)i * VH + (size_t)h * dvh;
      double ms = 0;
      for (int c = 0; c < dvh; c++) {
        const double x = (double)o1[at + c] - lambda * o2[at + c];
        ms += x * x;
      }
      const double r = 1 / std::sqrt(ms / dvh + eps);
      for (int c = 0; c < dvh; c++) {
        const double x = ((double)o1[at + c] - lambda * o2[at + c]) * r * (sub ? sub->data[c] : 1.0f);
        heads[at + c] = (float)(x * (1 - lambda_init));
      }
    }
  float* out = (float*)palloc(sizeof(float) * (size_t)L * E);
  project_in_slices(row_pointers(heads, L, VH), L, VH, tensor_rows(m, "w_o"), E, nullptr, out);
  PG_RETURN_POINTER(vectors_array(out, L, E, vector_type));
}
}  // namespace

// ruvector_model_attention(model, queries, keys, values): sequence attention
// with a model's weights. Kinds: multi_head (nn.MultiheadAttention's
// state_dict), through the same path as ruvector_multi_head_attention.
RVJ_FUNCTION(ruvector_model_attention) {
  for (int a = 0; a < 4; a++)
    if (PG_ARGISNULL(a)) PG_RETURN_NULL();
  const char* model = text_to_cstring(PG_GETARG_TEXT_PP(0));
  Sequence seq = sequence_args(fcinfo, 1);
  Model m = read_model(fcinfo, "ruvector_model_attention", model, nullptr);
  if (strcmp(m.kind->name, "talking_heads") == 0) return talking_heads_attention(seq, m);
  if (strcmp(m.kind->name, "multi_head_latent") == 0) return latent_attention(seq, m);
  if (strcmp(m.kind->name, "differential") == 0) return differential_attention(seq, m);
  if (strcmp(m.kind->name, "grouped_query") == 0) return grouped_attention(seq, m);
  if (strcmp(m.kind->name, "additive") == 0) {
    const int a = (int)model_symbol(m, "attention_dim");
    if (seq.q.dim != model_symbol(m, "query_dim") || seq.k.dim != model_symbol(m, "key_dim"))
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("model \"%s\" takes queries of %d and keys of %d dimensions, not %d and %d", model,
                             (int)model_symbol(m, "query_dim"), (int)model_symbol(m, "key_dim"), seq.q.dim, seq.k.dim)));
    const rvj::ir::SequenceMechanism* am = rvj::ir::find_weighted_sequence_mechanism("additive");
    double params[rvj::ir::kMaxParams];
    RVJ_ENGINE({
      rvj::ir::default_params(am->params, params);
      rvj::ir::set_param(*am, rvj::ir::Field::Causal, m.config[0], params);
    });
    return additive_attention(seq, tensor_rows(m, "w_query"), tensor_rows(m, "w_key"), model_tensor(m, "v")->data, a,
                              params, "ruvector_model_attention");
  }
  if (strcmp(m.kind->name, "multi_head") != 0)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("ruvector_model_attention needs a sequence model (kind multi_head, grouped_query, additive, "
                           "multi_head_latent, talking_heads or differential); \"%s\" is a %s model",
                           model, m.kind->name)));
  const int E = (int)model_symbol(m, "embed_dim");
  if (seq.q.dim != E || seq.k.dim != E || seq.v.dim != E)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("model \"%s\" takes queries, keys and values of %d dimensions, not %d, %d and %d", model, E,
                           seq.q.dim, seq.k.dim, seq.v.dim)));
  const ModelTensor* bin = model_tensor(m, "in_proj_bias");
  const ModelTensor* bout = model_tensor(m, "out_proj.bias");
  return multi_head(seq, tensor_rows(m, "in_proj_weight"), tensor_rows(m, "out_proj.weight"), (int)m.config[0],
                    bin ? bin->data : nullptr, bout ? bout->data : nullptr, "ruvector_model_attention");
}
