#include "runtime/schedules/plan.h"
#include "runtime/schedules/linear.h"
#include "runtime/dot_block.h"

#include "runtime/schedules/nystrom.h"
#include "runtime/schedules/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "ir/errors.h"
#include "runtime/online_softmax.h"

namespace rvj::runtime {

namespace {
[[noreturn]] void bad(const std::string& what, const std::string& hint = {}) {
  throw Error(ErrorKind::InvalidArgument, what, hint);
}

[[noreturn]] void over_limit(const std::string& what, const std::string& hint = {}) {
  throw Error(ErrorKind::LimitExceeded, what, hint);
}

constexpr int kQueryChunk = 512;
// ...unless the chunk's query state would pass this (wide heads).
constexpr size_t kChunkStateLimit = 8u << 20;

// One query at a time: a key block's logits, value rows and keys, one O.
size_t row_memory(const SequencePlan& p) {
  return static_cast<size_t>(p.block) * (sizeof(double) + sizeof(float*) + sizeof(int)) +
         sizeof(double) * p.value_dim + sizeof(SoftmaxState);
}

size_t tile_memory(const SequencePlan& p) {
  const size_t Q = kMaxTileQueries, keys = p.block + kMaxTileKeys;
  const size_t o_stride = (p.value_dim + kMaxLanes - 1) / kMaxLanes * kMaxLanes;
  // A query block's groups of Q queries each keep their transposed queries
  // and state; a key block may be packed.
  const size_t groups = (std::min(query_chunk(p), p.L) + Q - 1) / Q;
  return groups * (sizeof(float) * Q * (p.head_dim + 1) + sizeof(double) * Q * (1 + o_stride) + sizeof(int32_t) * Q) +
         sizeof(float) * keys * (Q + p.head_dim + p.value_dim) + Q * keys + 2 * sizeof(float*) * keys +
         sizeof(int32_t) * (2 * Q + keys);
}

// One query's logits, weights, key indices and flags over all keys; the
// blocked path adds a block's logits (f32 products, f64 logits, f32
// weights), the keys packed, and the values packed with W V's rows.
size_t normalised_memory(const SequencePlan& p) {
  const size_t S = p.S;
  size_t bytes = S * (2 * sizeof(double) + sizeof(int) + 1) + sizeof(double) * p.value_dim;
  if (normaliser_blocked(p)) {
    const size_t r = normaliser_block_rows(p), rows = query_rows(r), width = panel_docs(S);
    const size_t dv = panel_docs(p.value_dim);
    const size_t products = std::max(width * p.head_dim + S * p.head_dim + rows * p.head_dim + rows * width,
                                     dv * S + rows * dv);
    bytes += sizeof(double) * r * S + sizeof(float) * (rows * S + products);
  }
  return bytes;
}

}  // namespace

bool tiled(const SequencePlan& p) {
  const char* score = p.mechanism->score;
  return score && (p.normaliser == ir::Normaliser::Softmax || p.normaliser == ir::Normaliser::Sigmoid) &&
         ir::tileable(*ir::find_mechanism(score));
}

ir::TileWeights tile_weights(const SequencePlan& p) {
  return p.normaliser == ir::Normaliser::Sigmoid ? ir::TileWeights::Sigmoid : ir::TileWeights::Softmax;
}

bool whole_rows(const SequencePlan& p) { return !tiled(p) && p.normaliser != ir::Normaliser::Softmax; }

size_t block_memory(const SequencePlan& p) {
  if (tiled(p)) return tile_memory(p);
  return whole_rows(p) ? normalised_memory(p) : row_memory(p);
}

SequencePlan plan_sequence(const ir::SequenceMechanism& m, const double* values, int L, int S, int dq, int dk,
                           int dv) {
  SequencePlan p{};
  p.mechanism = &m;
  p.params = ir::typed_params(m, values);
  const ir::SequenceParams& t = p.params;
  p.L = L, p.S = S, p.dq = dq, p.dk = dk, p.dv = dv;
  p.heads = t.heads;
  p.block = t.block;
  switch (m.heads) {
    case ir::HeadMap::Equal: p.kv_heads = p.heads; break;
    case ir::HeadMap::Grouped: p.kv_heads = t.kv_heads; break;
    case ir::HeadMap::Single: p.kv_heads = 1; break;
  }
  const std::string name = m.name;
  if (L < 1 || S < 1) bad("queries, keys and values must not be empty");
  if (L > ir::kMaxLength || S > ir::kMaxLength)
    over_limit("sequences are limited to " + std::to_string(ir::kMaxLength) + " rows");

  // The mask, from the mechanism's kind and its params.
  ir::Mask& mask = p.mask;
  mask.kind = m.mask;
  mask.keys = S;
  mask.causal = t.causal;
  if (mask.kind == ir::MaskKind::None && mask.causal) mask.kind = ir::MaskKind::Causal, mask.causal = false;
  mask.window = t.window;
  mask.dilation = t.dilation;
  mask.stride = t.stride;
  mask.summary = t.summary;
  mask.block = t.sparse_block;
  mask.global = t.global;
  mask.random = t.random;
  mask.seed = static_cast<uint64_t>(t.seed);
  if (mask.kind == ir::MaskKind::Fixed && mask.summary > mask.stride)
    bad("summary " + std::to_string(mask.summary) + " must be at most stride " + std::to_string(mask.stride));
  p.causal = mask.kind == ir::MaskKind::Causal;

  p.normaliser = m.normaliser;
  p.sigmoid_bias = std::isnan(t.bias) ? -std::log(static_cast<double>(S)) : t.bias;
  p.positional = m.positional;
  p.features = m.features;

  if (dq % p.heads != 0)
    bad("num_heads " + std::to_string(p.heads) + " does not divide the query dimension " + std::to_string(dq),
        "num_heads must divide the dimension of the query vectors.");
  if (p.heads % p.kv_heads != 0)
    bad("num_kv_heads " + std::to_string(p.kv_heads) + " does not divide num_heads " + std::to_string(p.heads));
  p.head_dim = dq / p.heads;
  if (dk != p.kv_heads * p.head_dim) {
    if (m.heads == ir::HeadMap::Equal)
      throw Error(ErrorKind::DataException,
                  "keys have " + std::to_string(dk) + " dimensions but queries have " + std::to_string(dq),
                  "Queries and keys must have the same dimension.");
    throw Error(ErrorKind::DataException,
                "keys have " + std::to_string(dk) + " dimensions; " + name + " with " + std::to_string(p.heads) +
                    " heads over " + std::to_string(p.kv_heads) + " key/value heads needs " +
                    std::to_string(p.kv_heads * p.head_dim),
                "Keys hold the key/value heads, each of the query head dimension.");
  }
  if (dv % p.kv_heads != 0)
    throw Error(ErrorKind::DataException, "values have " + std::to_string(dv) +
                                              " dimensions, not a multiple of the " + std::to_string(p.kv_heads) +
                                              " key/value heads");
  p.value_dim = dv / p.kv_heads;
  if (p.positional == ir::Positional::Rope && p.head_dim % 2 != 0)
    bad("rope rotates pairs of dimensions, but the head dimension is " + std::to_string(p.head_dim),
        "Use an even head dimension (the query dimension divided by num_heads).");
  if (p.out_dims() > ir::kMaxDims)
    over_limit("the output would have more than " + std::to_string(ir::kMaxDims) + " dimensions");
  if (m.schedule == ir::Schedule::Sinkhorn) {
    // (the plan, L x S doubles per head at a time, is checked against work_mem by the caller)
  } else if (m.schedule == ir::Schedule::Nystrom) {
    if (t.landmarks > std::min(L, S))
      bad("num_landmarks " + std::to_string(t.landmarks) + " is more than the " + std::to_string(std::min(L, S)) +
              " queries or keys",
          "Each landmark is the mean of a segment of the queries and of the keys: use at most min(L, S).");
  } else if (m.schedule == ir::Schedule::Retention) {
    if (!std::isnan(t.gamma) && !(t.gamma > 0 && t.gamma <= 1))
      throw Error(ErrorKind::InvalidArgument, "gamma must be a number in (0, 1], not " + [&] {
        char b[32];
        std::snprintf(b, sizeof b, "%g", t.gamma);
        return std::string(b);
      }(),
                  "Retention's decay: 1 keeps every position, smaller values forget faster.");
    const size_t state = sizeof(double) * p.heads * static_cast<size_t>(p.head_dim) * p.value_dim;
    if (t.recurrent && state > ir::kStepMemoryLimit)
      over_limit(name + " with " + std::to_string(p.heads) + " head(s) of " + std::to_string(p.head_dim) + " x " +
                     std::to_string(p.value_dim) + " needs " + std::to_string(state >> 20) +
                     " MB of state, over the limit of " + std::to_string(ir::kStepMemoryLimit >> 20) + " MB",
                 "Use more heads, or the parallel form.");
  } else if (m.schedule == ir::Schedule::Linear) {
    const size_t F = p.feature_dim();
    const size_t state = sizeof(double) * (p.heads * (F * p.value_dim + F) + F * p.head_dim);
    if (state > ir::kStepMemoryLimit)
      over_limit(name + " with " + std::to_string(p.heads) + " head(s) of " + std::to_string(F) + " features x " +
                     std::to_string(p.value_dim) + " needs " + std::to_string(state >> 20) +
                     " MB of state, over the limit of " + std::to_string(ir::kStepMemoryLimit >> 20) + " MB",
                 p.features == ir::FeatureMap::Favor
                     ? "Use fewer num_features."
                     : "Use more heads (the state grows with the square of the head dimension).");
  } else if (block_memory(p) > ir::kStepMemoryLimit) {
    const bool rows = whole_rows(p);
    over_limit(name + " over " + std::to_string(S) + " keys with block_size " + std::to_string(p.block) + " needs " +
                   std::to_string(block_memory(p) >> 20) + " MB of working memory per thread, over the limit of " +
                   std::to_string(ir::kStepMemoryLimit >> 20) + " MB",
               rows ? std::string(ir::normaliser_name(p.normaliser)) +
                          " keeps all of a query's logits: use fewer keys per call."
                    : "Use a smaller block_size.");
  }
  return p;
}

void rope_rotate_rows(const SequencePlan& p, const float* const* rows, int n, int dims, float* out) {
  const int d = p.head_dim;
  for (int r = 0; r < n; ++r)
    for (int h = 0; h * d < dims; ++h)
      ir::rope_rotate(rows[r] + static_cast<size_t>(h) * d, d, r, p.params.rope_base,
                      out + static_cast<size_t>(r) * dims + static_cast<size_t>(h) * d);
}

int query_chunk(const SequencePlan& p) {
  // The per-query state of a chunk: transposed query, m, l, O (f64).
  const size_t per_query = sizeof(float) * (p.head_dim + 1) + sizeof(double) * (1 + p.value_dim + kMaxLanes) + 4;
  const int fits = static_cast<int>(std::min<size_t>(kQueryChunk, kChunkStateLimit / per_query));
  return std::max(p.block, std::max(fits / kMaxTileQueries * kMaxTileQueries, kMaxTileQueries));
}

size_t call_memory(const SequencePlan& p, int threads) {
  // The output rows, and the array of vectors returned from them (the
  // linear schedule writes its rows straight into the array).
  const size_t copies = p.mechanism->schedule == ir::Schedule::Linear ? 1 : 2;
  size_t bytes = copies * (sizeof(float) * p.out_dims() + 16) * static_cast<size_t>(p.L);
  if (p.positional == ir::Positional::Rope)
    bytes += sizeof(float) * (static_cast<size_t>(p.L) * p.dq + static_cast<size_t>(p.S) * p.dk);
  if (p.mechanism->schedule == ir::Schedule::Sinkhorn) {
    bytes += sizeof(double) * sinkhorn_memory(p);
  } else if (p.mechanism->schedule == ir::Schedule::Nystrom) {
    bytes += sizeof(double) * nystrom_memory(p);
  } else if (p.mechanism->schedule == ir::Schedule::Retention) {
    // Recurrent: the states; parallel: a block of queries' decayed logits and its rows (Eigen, f64).
    bytes += sizeof(double) * (p.params.recurrent
                                   ? static_cast<size_t>(p.heads) * p.head_dim * p.value_dim
                                   : static_cast<size_t>(p.block) * p.S +
                                         static_cast<size_t>(p.block + p.S) * (p.head_dim + p.value_dim));
  } else if (p.mechanism->schedule == ir::Schedule::Linear) {
    const size_t F = p.feature_dim();
    bytes += sizeof(double) * (p.heads * (F * p.value_dim + F) + F * p.head_dim) + linear_work_memory(p, threads);
  } else {
    bytes += block_memory(p) * static_cast<size_t>(std::max(threads, 1));
  }
  return bytes;
}

int normaliser_block_rows(const SequencePlan& p) {
  return std::max(1, std::min({query_chunk(p), std::max(p.L, 1), (1 << 20) / std::max(p.S, 1)}));
}

bool normaliser_blocked(const SequencePlan& p) {
  return whole_rows(p) && p.mechanism->score != nullptr &&
         std::strcmp(p.mechanism->score, "scaled_dot") == 0 && p.score_vector == nullptr;
}

int step_rows(const SequencePlan& p, int threads) {
  // The keys the last query sees bound every query's for the masks here
  // (causal and windows grow with i; the others do not depend on it).
  const int64_t i = p.L - 1;
  const int64_t keys = std::clamp<int64_t>(int64_t{p.last_key(static_cast<int>(i))} - p.first_key(static_cast<int>(i)) + 1, 1, p.S);
  // Per key: the score and the value fold; the per-row kernel and the
  // normalisers add a call and a sort-like pass, weighted as 32.
  const bool per_row = !tiled(p);
  // Blocked normalisers run their products on packed panels (about 8
  // multiply-adds a cycle) and a weight per key.
  const int64_t per_key = normaliser_blocked(p) ? (p.head_dim + p.value_dim) / 8 + 4
                                                : p.head_dim + p.value_dim + (per_row ? 32 : 0);
  const int64_t per_query = keys * p.heads * per_key;
  // A tile call gathers and packs the key blocks of every head once for all
  // its queries: copying a float costs about what 32 rows' multiply-adds on
  // it do, so a tile step takes a query chunk per thread (or all the rows);
  // the drivers still poll for cancels per key block inside it.
  const int n = std::max(threads, 1);
  const int64_t least = per_row ? 1 : std::min<int64_t>(query_chunk(p), (int64_t{p.L} + n - 1) / n);
  const int64_t rows =
      std::clamp<int64_t>(ir::kStepWork / std::max<int64_t>(per_query, 1), least, query_chunk(p));
  return static_cast<int>(std::min<int64_t>(rows * n, ir::kMaxLength));
}

}  // namespace rvj::runtime
