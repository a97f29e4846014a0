#include "runtime/engine.h"

#include <cstring>

#include "runtime/schedules/nystrom.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "codegen/isa.h"
#include "codegen/schedule.h"
#include "runtime/codegen_loader.h"
#include "runtime/native.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/recipes/sequence.h"
#include "runtime/online_softmax.h"
#include "runtime/rescue.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/linear.h"

namespace rvj::runtime {

const ir::Mechanism& row_score_mechanism(std::string_view name) {
  const ir::Mechanism* m = ir::find_mechanism(name);
  if (m && m->attention_type) {
    ir::reject_own_functions(*m);
    return *m;
  }
  const std::string valid = ir::mechanism_names(true);
  if (const std::string own = ir::own_sql_form(name); !own.empty())
    throw Error(ErrorKind::Unsupported,
                "attention type \"" + std::string(name) + "\" has no per-row score form of the generic functions",
                "Use " + own + ".");
  if (ir::find_sequence_mechanism(name))
    throw Error(ErrorKind::Unsupported,
                "attention type \"" + std::string(name) + "\" has no per-row score form in this version",
                "Use its sequence form, ruvector_attention(queries, keys, values, '" + std::string(name) +
                    "'). Per-row attention types are: " + valid + ".");
  if (const ir::CatalogueEntry* e = ir::catalogue_entry(name)) {
    if (e->shape)
      throw Error(ErrorKind::Unsupported,
                  "attention type \"" + std::string(name) + "\" has no per-row score form",
                  "It needs " + std::string(e->shape) +
                      ", which this version of ruvector_jit does not ship yet. Per-row attention types are: " +
                      valid + ".");
    throw Error(ErrorKind::Unsupported,
                "attention type \"" + std::string(name) + "\" is not available in this version of ruvector_jit",
                "Available attention types are: " + valid + ".");
  }
  throw Error(ErrorKind::InvalidArgument, "unknown attention type \"" + std::string(name) + "\"",
              "Valid attention types are: " + valid + ".");
}

const WeightsForm& weights_form(std::string_view name) {
  // Built once: per-row types (softmax), then the sparse normalisers.
  static const std::vector<std::pair<std::string, WeightsForm>> forms = [] {
    std::vector<std::pair<std::string, WeightsForm>> f;
    for (const ir::Mechanism& m : ir::mechanisms())
      if (m.attention_type && !m.own_functions) f.push_back({m.name, {&m, ir::Normaliser::Softmax, m.params}});
    for (const ir::SequenceMechanism& s : ir::sequence_mechanisms()) {
      if (s.normaliser == ir::Normaliser::Softmax || !s.score) continue;
      const ir::Mechanism* score = ir::find_mechanism(s.score);
      WeightsForm w{score, s.normaliser, score->params};
      // The normaliser's own params (top_k; bias) follow the score's.
      for (const ir::ParamSpec& spec : s.params)
        if (spec.field == ir::Field::TopK || spec.field == ir::Field::Bias) w.params.push_back(spec);
      f.push_back({s.name, std::move(w)});
    }
    return f;
  }();
  for (const auto& [n, w] : forms)
    if (n == name) return w;
  row_score_mechanism(name);  // throws the right error for every other name
  throw Error(ErrorKind::Internal, "no weights form for " + std::string(name));
}

const ir::Mechanism& kernel_mechanism(std::string_view name) {
  if (const ir::Mechanism* m = ir::find_mechanism(name)) return *m;
  throw Error(ErrorKind::InvalidArgument, "unknown kernel \"" + std::string(name) + "\"",
              "Valid kernels are: " + ir::mechanism_names(false) + ".");
}

std::pair<int, int> key_value_dims(const ir::SequenceMechanism& m, const ir::SequenceParams& t, int dims) {
  const int kv = m.heads == ir::HeadMap::Equal ? t.heads : m.heads == ir::HeadMap::Single ? 1 : t.kv_heads;
  const int hd = dims % t.heads == 0 ? dims / t.heads : 0;
  return {kv * hd, kv * hd};
}

void check_explain_dims(int dims) {
  if (dims < 1 || dims > ir::kMaxDims)
    throw Error(ErrorKind::InvalidArgument, "dims must be between 1 and " + std::to_string(ir::kMaxDims) + ", not " +
                                                std::to_string(dims));
}

void check_same_dims(int a, int b) {
  if (a != b)
    throw Error(ErrorKind::DataException,
                "different vector dimensions " + std::to_string(a) + " and " + std::to_string(b));
}

Bound bind(const ir::Mechanism& m, int dims, bool jit, ir::KernelKind kind, int value_dims,
           ir::TileWeights weights) {
  if (m.params.size() > sizeof(Bound::params) / sizeof(double))
    throw Error(ErrorKind::Internal, std::string("too many params in ") + m.name);
  Bound b;
  b.kernel = &backend_cache().get(m, dims, jit, nullptr, kind, value_dims, nullptr, weights);
  b.generation = backend_cache().generation();
  b.jit = jit;
  for (size_t i = 0; i < m.params.size(); ++i) b.params[i] = m.params[i].default_value;
  return b;
}

Bound bind_sequence(const SequencePlan& p, bool jit) {
  const ir::SequenceMechanism& m = *p.mechanism;
  const ir::Mechanism& score = *ir::find_mechanism(m.score);
  // One query row under the softmax: the single-query kernel; several, or
  // the sigmoid: tiles of queries. Normalisers that need whole rows bind the
  // row kernel (the blocked path scores with it the rows a tiny entry sends
  // there).
  const ir::TileWeights weights = tile_weights(p);
  const ir::KernelKind kind =
      p.L == 1 && weights == ir::TileWeights::Softmax ? ir::KernelKind::Query : ir::KernelKind::Tile;
  Bound b = tiled(p) ? bind(score, p.head_dim, jit, kind, p.value_dim, weights) : bind(score, p.head_dim, jit);
  std::copy(p.params.score, p.params.score + score.params.size(), b.params);
  return b;
}

void bind_linear(SequencePlan& p, bool jit) {
  p.panel = {};
  p.feature_map = nullptr;
  if (!jit) return;
  static const ir::Mechanism& dot = *ir::find_mechanism("feature_dot");
  // Copies of the code keep it alive until the next bind, whatever the
  // cache evicts meanwhile (the second lookup may drop the first kernel).
  // Kept for the process's life, like the JIT.
  static auto* pinned = new std::pair<codegen::Compiled, codegen::Compiled>();
  KernelCache& cache = backend_cache();
  pinned->first = cache.get(dot, 0, true, nullptr, ir::KernelKind::Panel).code;
  pinned->second =
      cache.get(dot, 0, true, nullptr, ir::KernelKind::Features, 0, nullptr, ir::TileWeights::Softmax, p.features).code;
  p.panel = {pinned->first.panel()};
  p.feature_map = pinned->second.features();
}

bool still_valid(const Bound& b) { return b.kernel && b.generation == backend_cache().generation(); }

double run(const Bound& k, const float* a, const float* b) { return run_with_params(k, k.params, a, b); }

namespace {
void call(const Bound& k, const double* params, const float* const* in, double* out) {
  if (k.jit)
    k.kernel->code.fn(in, params, out);
  else
    ir::interpret(k.kernel->ir, in, params, out);
}

}  // namespace

double run_with_params(const Bound& k, const double* params, const float* a, const float* b, const float* c) {
  // A vector output would be written through in[num_inputs]: run_vec's job.
  if (k.kernel->ir.num_vec_outputs != 0)
    throw Error(ErrorKind::Internal, "kernel " + k.kernel->ir.name + " writes a vector: call run_vec");
  if (k.kernel->ir.num_inputs > 2 && !c)
    throw Error(ErrorKind::Internal, "kernel " + k.kernel->ir.name + " needs a third input");
  const float* in[3] = {a, b, c};
  double out[4];
  call(k, params, in, out);
  const ir::Mechanism& m = *k.kernel->mechanism;
  rescue_underflow(m, a, b, k.kernel->dims, out, [&](const float* sa, const float* sb, double* o) {
    const float* scaled[3] = {sa, sb, c};
    call(k, params, scaled, o);
  });
  if (m.check) m.check(m, out, params);
  return out[0];
}

double run_inputs(const Bound& k, const double* params, const float* const* in) {
  if (k.kernel->ir.num_vec_outputs != 0)
    throw Error(ErrorKind::Internal, "kernel " + k.kernel->ir.name + " writes a vector: call run_vec");
  double out[4];
  call(k, params, in, out);
  const ir::Mechanism& m = *k.kernel->mechanism;
  if (m.check) m.check(m, out, params);
  return out[0];
}

void run_vec(const Bound& k, const float* a, const float* b, float* result) {
  const ir::Function& fn = k.kernel->ir;
  if (fn.num_vec_outputs != 1 || fn.num_inputs > 2 || fn.num_outputs > 4)
    throw Error(ErrorKind::Internal, "kernel " + fn.name + " does not write one vector");
  // The ABI (ir.h): the output buffer follows the vector inputs.
  const float* in[3] = {a, b, nullptr};
  in[fn.num_inputs] = result;
  double out[4];
  if (k.jit)
    k.kernel->code.fn(in, k.params, out);
  else
    ir::interpret(fn, in, k.params, out);
  if (k.kernel->mechanism->check) k.kernel->mechanism->check(*k.kernel->mechanism, out, k.params);
  check_finite_result(k.kernel->mechanism->name, result, fn.dims);
}

namespace {
// Whether any of x[0..n) is NaN or infinite: its exponent bits all set. A
// branch-free pass over the bits (it vectorises); the element is found
// afterwards, only when there is one.
bool any_not_finite(const float* x, size_t n) {
  uint32_t all = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    all |= (b & 0x7f800000u) == 0x7f800000u;
  }
  return all != 0;
}
}  // namespace

void check_finite_rows(std::string_view what, const float* x, int64_t ld, size_t rows, size_t dims) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + static_cast<int64_t>(r) * ld;
    if (!any_not_finite(row, dims)) continue;
    for (size_t i = 0; i < dims; ++i)
      if (!std::isfinite(row[i]))
        throw Error(ErrorKind::OutOfRange,
                    std::string(what) + " overflowed type real (element " + std::to_string(r * dims + i + 1) +
                        " is " + (std::isnan(row[i]) ? "NaN" : "infinite") + ")",
                    "Values inside this computation (dot products, logits, projections) exceed the range of real "
                    "(about 3.4e38); scale the inputs down.");
  }
}

void check_finite_result(std::string_view what, const float* x, size_t n) {
  check_finite_rows(what, x, static_cast<int64_t>(n), 1, n);
}

std::vector<std::string> explain(std::string_view name, int dims, bool jit, const double* params,
                                 std::string_view isa, ir::KernelKind kind, int value_dims,
                                 ir::TileWeights weights, ir::FeatureMap features) {
  const ir::Mechanism& m = kernel_mechanism(name);
  if (kind == ir::KernelKind::Panel || kind == ir::KernelKind::Features) dims = 0;  // any length
  else check_explain_dims(dims);
  if (params) ir::check_params(m, params);
  const codegen::Target target = isa.empty() ? codegen::host_target() : codegen::named_target(isa);
  Source source;
  // A kernel compiled now for the host gives explain its texts from the same
  // lowering; otherwise they are rendered once below.
  codegen::Inspection shown;
  Kernel& k =
      backend_cache().get(m, dims, jit, &source, kind, value_dims, isa.empty() ? &shown : nullptr, weights, features);

  std::vector<std::string> rows;
  auto add_block = [&](const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) rows.push_back("    " + line);
  };
  char buf[256];
  if (kind == ir::KernelKind::Row)
    rows.push_back("Kernel: " + std::string(m.name) + " (" + m.family + "), dims " + std::to_string(dims));
  else if (kind == ir::KernelKind::Panel)
    rows.push_back("Panel kernel: " + std::string(m.name) + " (" + m.family + "), any length");
  else if (kind == ir::KernelKind::Features)
    rows.push_back("Feature kernel: " + std::string(ir::feature_map_name(features)) + " for " + m.name + " (" +
                   m.family + "), any length");
  else
    rows.push_back(std::string(kind == ir::KernelKind::Query             ? "Single-query kernel: "
                               : weights == ir::TileWeights::Sigmoid ? "Sigmoid tile kernel: "
                                                                     : "Tile kernel: ") +
                   m.name +
                   " (" + m.family + "), head dims " + std::to_string(dims) + ", value dims " +
                   std::to_string(value_dims));
  rows.push_back("  Score: " + std::string(m.score_form));
  if (kind == ir::KernelKind::Row && native_kernel(m))
    rows.push_back("  Per-row calls: the native kernel built with the module (runtime/native.h), the same bits as "
                   "the code below, with no compile");
  if (!m.params.empty()) {
    std::string p = "  Params:";
    for (size_t i = 0; i < m.params.size(); ++i) {
      if (m.params[i].internal)
        std::snprintf(buf, sizeof buf, "%s %s=(set per head by the schedule)", i ? "," : "", m.params[i].name);
      else
        std::snprintf(buf, sizeof buf, "%s %s=%g", i ? "," : "", m.params[i].name,
                      params ? params[i] : m.params[i].default_value);
      p += buf;
    }
    rows.push_back(p + " (runtime arguments: one kernel serves every value)");
  }
  const codegen::Target& host = code_generator().llvm_host();
  rows.push_back("  ISA: " + std::string(codegen::isa_name(host.isa)) + " (cpu " + host.cpu + ", " +
                 std::to_string(host.vector_bits) + "-bit vectors, " + host.triple + ")");
  rows.push_back("  Schedule (" + std::string(codegen::isa_name(target.isa)) +
                 "): " + codegen::describe_schedule(k.ir, target));
  rows.push_back("  Cache key: " + k.key + " (IR hash " + [&] {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(k.ir.hash()));
    return std::string(buf);
  }() + ", LLVM " + code_generator().llvm_version() + ")");
  if (!jit) {
    rows.push_back("  Execution: interpreter (ruvector_jit.enabled is off)");
  } else {
    std::snprintf(buf, sizeof buf, "  Source: %s (hits %llu)", source_name(source),
                  static_cast<unsigned long long>(k.hits));
    rows.push_back(buf);
    if (k.origin == Source::Disk)
      std::snprintf(buf, sizeof buf, "  Compile time: none, loaded from the disk cache in %.3f ms, object %zu bytes",
                    k.code.codegen_ms, k.code.object_bytes);
    else
      std::snprintf(buf, sizeof buf,
                    "  Compile time: %.3f ms (lower %.3f ms, optimise %.3f ms, codegen %.3f ms), object %zu bytes",
                    k.code.total_ms(), k.code.lower_ms, k.code.opt_ms, k.code.codegen_ms, k.code.object_bytes);
    rows.push_back(buf);
    const DiskCache& disk = backend_disk_cache();
    rows.push_back("  Disk cache: " + (disk.enabled() ? disk.path(k.ir) : std::string("off")));
  }
  rows.push_back("  IR:");
  add_block(ir::print(k.ir));
  // Rendered from the same IR through the same pipeline as the running code.
  if (shown.assembly.empty()) shown = code_generator().inspect(k.ir, target);
  rows.push_back("  Optimised LLVM IR (" + std::string(codegen::isa_name(target.isa)) + "):");
  add_block(shown.optimized_ir);
  rows.push_back("  Assembly (" + std::string(codegen::isa_name(target.isa)) +
                 (isa.empty() ? ", host" : ", cross-compiled for inspection") + "):");
  add_block(shown.assembly);
  return rows;
}

std::vector<std::string> explain_sequence(std::string_view name, int dims, bool jit, const double* params,
                                          std::string_view isa, int threads) {
  const ir::SequenceMechanism* m = ir::find_sequence_mechanism(name);
  if (!m) throw Error(ErrorKind::InvalidArgument, "unknown sequence mechanism \"" + std::string(name) + "\"");
  check_explain_dims(dims);
  // Keys and values as the head map expects them, one row each: the plan's
  // checks are the ones a real call makes.
  const auto [dk, dv] = key_value_dims(*m, ir::typed_params(*m, params), dims);
  // A full chunk of queries, so the memory shown is what a long call uses.
  // (512 queries; one key, except where the keys set a limit: Nystrom's landmarks)
  const SequencePlan p = plan_sequence(*m, params, 512, m->schedule == ir::Schedule::Nystrom ? 512 : 1, dims, dk, dv);
  char buf[512];
  std::vector<std::string> rows;
  std::string mask;
  if (p.mask.kind == ir::MaskKind::Causal)
    mask = ", causal mask (j <= i)";
  else if (p.mask.kind == ir::MaskKind::Window)
    mask = ", " + p.mask.describe();
  else if (p.mask.kind != ir::MaskKind::None)
    mask = ", mask: " + p.mask.describe();
  if (p.positional == ir::Positional::Alibi) {
    mask += ", ALiBi bias m_h (j - i) with slopes";
    for (int h = 0; h < std::min(p.heads, 8); ++h) {
      std::snprintf(buf, sizeof buf, "%s %.6g", h ? "," : "", ir::alibi_slope(h, p.heads));
      mask += buf;
    }
    if (p.heads > 8) mask += ", ...";
    mask += " (Press et al.'s get_slopes)";
  }
  if (p.positional == ir::Positional::Rope) {
    std::snprintf(buf, sizeof buf, ", RoPE (base %g) on queries and keys", p.params.rope_base);
    mask += buf;
  }
  std::snprintf(buf, sizeof buf, "Sequence: %s (%s), query dims %d: %d head(s) of %d over %d key/value head(s)%s",
                m->name, m->family, dims, p.heads, p.head_dim, p.kv_heads, mask.c_str());
  rows.push_back(buf);
  const bool sigmoid_tiles = tiled(p) && tile_weights(p) == ir::TileWeights::Sigmoid;
  std::snprintf(buf, sizeof buf,
                "  Schedule: flash (%s): queries in chunks of %d on %d thread(s), keys "
                "in blocks of %d from key 0 (only blocks a query can see are visited, each gathered once per "
                "chunk); extra memory at most %zu bytes per thread",
                sigmoid_tiles ? "FlashSigmoid: each key weighed on its own, sigmoid(logit + bias), no normaliser"
                              : "FlashAttention-2 online softmax",
                query_chunk(p), threads, p.block, block_memory(p));
  if (m->schedule == ir::Schedule::Sinkhorn) {
    std::snprintf(buf, sizeof buf,
                  "  Schedule: sinkhorn (Sander et al. 2022): per head the L x S plan exp(q.k / sqrt(d)) normalised "
                  "%d time(s), rows first then columns in turn, in the log domain; f64, L x S doubles per head",
                  p.params.sinkhorn_iterations);
    rows.push_back(buf);
    rows.push_back("  (no score kernel: the logits and the normalisations run in the sinkhorn schedule, f64)");
    return rows;
  }
  if (m->schedule == ir::Schedule::Nystrom) {
    std::snprintf(buf, sizeof buf,
                  "  Schedule: nystrom (Xiong et al. 2021): per head %d landmarks (segment means), softmax(Q K~^T) "
                  "pinv(softmax(Q~ K~^T)) softmax(Q~ K^T) V, the pseudo-inverse by %d Newton-Schulz iterations; f64 "
                  "in Eigen, %zu bytes per head",
                  p.params.landmarks, p.params.pinv_iterations, sizeof(double) * nystrom_memory(p));
    rows.push_back(buf);
    rows.push_back("  (no score kernel: the products run in Eigen, f64)");
    return rows;
  }
  if (m->schedule == ir::Schedule::Retention) {
    std::snprintf(buf, sizeof buf,
                  "  Schedule: retention (Sun et al. 2023), %s: per head sum over m <= n of gamma^(n-m) (q.k) v, "
                  "gamma %s; f64",
                  p.params.recurrent ? "recurrent (a d x d_v state per head, position by position)"
                                     : "parallel (each query over its keys, in blocks of queries)",
                  std::isnan(p.params.gamma) ? "1 - 2^(-5-h) for head h" : "given");
    rows.push_back(buf);
    rows.push_back("  (no score kernel: the products run in the retention schedule, f64)");
    return rows;
  }
  if (m->schedule == ir::Schedule::Linear) {
    std::snprintf(buf, sizeof buf,
                  "  Schedule: linear (Katharopoulos 2020): per head a %d x %d state sum phi(k) v^T and sum phi(k), "
                  "phi = %s, %s; %zu bytes of state; slices of %d rows on %d thread(s)",
                  p.feature_dim(), p.value_dim, ir::feature_map_name(p.features),
                  p.causal ? "chunk by chunk (a masked product within a chunk, the running state across chunks)"
                           : "built once",
                  sizeof(double) * p.heads * (static_cast<size_t>(p.feature_dim()) * p.value_dim + p.feature_dim()),
                  linear_step_rows(p, threads), threads);
    rows.push_back(buf);
    std::snprintf(buf, sizeof buf,
                  "  Products: phi(K)^T [V | 1] per chunk of %d keys, summed into the f64 state in chunk order, and "
                  "phi(Q) [S | z], in the panel kernel below (f32, one fma chain per product); phi in the feature "
                  "kernel below%s; the same bits on every ISA and thread count",
                  kLinearChunk, p.features == ir::FeatureMap::Favor ? " (W x^ in the panel kernel too)" : "");
    rows.push_back(buf);
    rows.push_back("  Feature map kernel:");
    for (const std::string& r :
         explain("feature_dot", 0, jit, nullptr, isa, ir::KernelKind::Features, 0, ir::TileWeights::Softmax, p.features))
      rows.push_back("  " + r);
    rows.push_back("  Product kernel:");
    for (const std::string& r : explain("feature_dot", 0, jit, nullptr, isa, ir::KernelKind::Panel))
      rows.push_back("  " + r);
    return rows;
  }
  const ir::Mechanism& score = *ir::find_mechanism(m->score);
  const double* score_params = p.params.score;
  if (whole_rows(p)) {
    if (normaliser_blocked(p))
      std::snprintf(buf, sizeof buf,
                    "  Schedule: blocked rows (%s needs all of a query's logits): blocks of up to %d queries (about "
                    "2^20 logits) on %d thread(s), the logits from packed-panel products, each row's weights (f64, "
                    "rounded to f32), "
                    "then W V as a packed-panel product; extra memory per thread %zu bytes",
                    ir::normaliser_name(p.normaliser), normaliser_block_rows(p), threads, block_memory(p));
    else
      std::snprintf(buf, sizeof buf,
                    "  Schedule: per query row (%s needs all of a query's logits): the visible keys' logits through "
                    "the per-row kernel, their weights, then sum w v in f64; blocks of %d queries on %d thread(s); "
                    "extra memory per thread %zu bytes per key (logits, weights, indices)",
                    ir::normaliser_name(p.normaliser), p.block, threads, 2 * sizeof(double) + sizeof(int));
    rows.push_back(buf);
    rows.push_back("  Per-head score kernel:");
    for (const std::string& r : explain(m->score, p.head_dim, jit, score_params, isa)) rows.push_back("  " + r);
    return rows;
  }
  rows.push_back(buf);
  if (!ir::tileable(score)) {
    rows.push_back("  Per-head score kernel (" + std::string(score.name) +
                   " keeps f64 sums or input checks, so it runs per row, folded in C++):");
    for (const std::string& r : explain(m->score, p.head_dim, jit, score_params, isa)) rows.push_back("  " + r);
    return rows;
  }
  if (sigmoid_tiles) {
    std::snprintf(buf, sizeof buf, "  Bias: %s; calls with one query row use this tile kernel too.",
                  std::isnan(p.params.bias) ? "-ln(number of keys), per call" : "given");
    rows.push_back(buf);
  } else {
    rows.push_back("  Calls with one query row use the single-query kernel " +
                   kernel_key(score, p.head_dim, codegen::host_target().isa, ir::KernelKind::Query, p.value_dim) +
                   " (the per-row score's arithmetic, keys along the vector lanes).");
  }
  rows.push_back("  Per-head tile kernel:");
  for (const std::string& r : explain(m->score, p.head_dim, jit, score_params, isa, ir::KernelKind::Tile,
                                      p.value_dim, tile_weights(p)))
    rows.push_back("  " + r);
  return rows;
}

}  // namespace rvj::runtime
