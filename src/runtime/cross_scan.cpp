#include "runtime/cross_scan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "ir/exp32.h"
#include "ir/limits.h"
#include "runtime/dot_block.h"
#include "runtime/exp_block.h"
#include "runtime/native.h"
#include "runtime/rescue.h"
#include "runtime/schedules/parallel.h"
#include "runtime/simd.h"

namespace rvj::runtime {

namespace {

// The largest of n logits, and whether all are finite (8 fixed lanes: the
// loop vectorises on every clone).
RVJ_CLONES double row_max(const double* l, int n, bool* finite) {
  double mx[8];
  int bad[8] = {};
  for (int t = 0; t < 8; ++t) mx[t] = -std::numeric_limits<double>::infinity();
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int t = 0; t < 8; ++t) {
      const double x = l[j + t];
      mx[t] = x > mx[t] ? x : mx[t];
      bad[t] |= !(std::fabs(x) <= std::numeric_limits<double>::max());
    }
  for (int t = 0; j < n; ++j, ++t) {
    mx[t] = l[j] > mx[t] ? l[j] : mx[t];
    bad[t] |= !(std::fabs(l[j]) <= std::numeric_limits<double>::max());
  }
  double top = mx[0];
  int any_bad = bad[0];
  for (int t = 1; t < 8; ++t) top = mx[t] > top ? mx[t] : top, any_bad |= bad[t];
  *finite = !any_bad;
  return top;
}

// sum_j exp(l[j] - m) with the flash tile's exp32 (about 1 ulp of f32),
// summed in f64 over 8 fixed lanes then halved: the same bits on every ISA.
RVJ_CLONES double sum_exp(const double* l, int n, double m, float* x) {
  for (int j = 0; j < n; ++j) x[j] = static_cast<float>(l[j] - m);
  exp32_block(x, x, n);
  double acc[8] = {};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int t = 0; t < 8; ++t) acc[t] += static_cast<double>(x[j + t]);
  for (int t = 0; j < n; ++j, ++t) acc[t] += static_cast<double>(x[j]);
  for (int s = 4; s >= 1; s /= 2)
    for (int t = 0; t < s; ++t) acc[t] += acc[t + s];
  return acc[0];
}

constexpr int kQueryTile = 60;  // queries per part (a multiple of kQueryRows)
static_assert(kQueryTile % kQueryRows == 0);

// Whether a row takes the blocked path: no rescue (rescue.h), and for
// cosine a norm (the per-row kernel reports a zero vector).
bool plain_row(const float* x, int dims, bool cosine, float* sq) {
  if (cosine) *sq = canonical_sq_norm32(x, dims);
  return rescue_free(x, dims) && (!cosine || *sq > 0);
}

[[noreturn]] void overflowed(const ir::Mechanism& m) {
  throw Error(ErrorKind::OutOfRange, std::string("the ") + m.name + " score overflowed type real",
              "A dot product of these vectors exceeds the range of real (about 3.4e38); scale them down.");
}

}  // namespace

struct CrossScan::Query {
  double m = -std::numeric_limits<double>::infinity();
  double s = 0;
  int size = 0;
  std::vector<TopEntry> heap;
};

CrossScan::CrossScan(const ir::Mechanism& m, const double* params, int dims, int k, int threads, bool jit)
    : m_(m), dims_(dims), k_(k), threads_(threads), jit_(jit) {
  std::copy(params, params + m.params.size(), params_);
  ir::check_params(m, params_);
  const NativeFn native = native_kernel(m);
  form_ = native && std::strcmp(m.name, "scaled_dot") == 0 ? Form::Dot
          : native && std::strcmp(m.name, "cosine") == 0   ? Form::Cosine
                                                           : Form::PerRow;
  if (form_ == Form::PerRow) {
    bound_ = bind(m, dims, jit);
    std::copy(params_, params_ + m.params.size(), bound_.params);
  }
  for (int slot = 0; slot < 2; ++slot) {
    staging_[slot].resize((size_t)kBlockDocs * dims);
    staging_keys_[slot].resize(kBlockDocs);
  }
}

CrossScan::~CrossScan() = default;  // background_ goes first and waits

size_t CrossScan::memory(int nq, int dims, int k, int docs, int threads) {
  return sizeof(float) * dims * (query_rows(nq) + panel_docs(docs) + 2 * kBlockDocs) +
         (sizeof(TopEntry) * k + sizeof(Query)) * nq +
         (sizeof(double) + 3 * sizeof(float)) * kQueryTile * (size_t)panel_docs(docs) * std::max(threads, 1);
}

void CrossScan::set_queries(const float* q, int nq) {
  nq_ = nq;
  q_.assign((size_t)query_rows(nq) * dims_, 0.0f);
  qnorm_.assign(nq, 0.0f);
  qplain_.assign(nq, 0);
  for (int i = 0; i < nq; ++i) {
    std::memcpy(&q_[(size_t)i * dims_], q + (size_t)i * dims_, sizeof(float) * dims_);
    qplain_[i] = plain_row(q + (size_t)i * dims_, dims_, form_ == Form::Cosine, &qnorm_[i]);
  }
  states_.assign(nq, Query{});
  for (Query& s : states_) s.heap.resize(k_);
}

void CrossScan::score_rows(int q0, int q1, const float* d, int nd, double* logits) const {
  const int n = q1 - q0;
  if (form_ == Form::PerRow) {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < nd; ++j)
        logits[(size_t)i * nd + j] = run(bound_, &q_[(size_t)(q0 + i) * dims_], d + (size_t)j * dims_);
    return;
  }
  thread_local std::vector<float> dots;
  const int64_t width = panel_docs(nd);
  dots.resize((size_t)query_rows(n) * width);
  dot_panels(&q_[(size_t)q0 * dims_], n, dims_, panels_.data(), nd, dots.data(), width);
  const NativeFn native = native_kernel(m_);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dims_));
  for (int i = 0; i < n; ++i) {
    const int qi = q0 + i;
    const float* dot = &dots[(size_t)i * width];
    double* l = &logits[(size_t)i * nd];
    if (form_ == Form::Dot) {
      for (int j = 0; j < nd; ++j) l[j] = dot[j] * scale;
    } else {
      const double qq = qnorm_[qi];
      for (int j = 0; j < nd; ++j) l[j] = params_[0] * (dot[j] / std::sqrt(qq * static_cast<double>(dnorm_[j])));
    }
    // Tiny or zero vectors: the per-row kernel, with its rescue and checks.
    if (!qplain_[qi] || !all_plain_)
      for (int j = 0; j < nd; ++j)
        if (!qplain_[qi] || !dplain_[j])
          l[j] = run_native(m_, native, &q_[(size_t)qi * dims_], d + (size_t)j * dims_, dims_, params_);
  }
}

void CrossScan::run_part(int part, const float* d, const int64_t* keys, int nd) {
  const int q0 = part * kQueryTile, q1 = std::min(nq_, q0 + kQueryTile);
  std::vector<double> logits((size_t)(q1 - q0) * nd);
  check_cancel();
  score_rows(q0, q1, d, nd, logits.data());
  uint8_t* entered = part_entered_[part].data();
  thread_local std::vector<float> scratch;
  scratch.resize(nd);
  for (int qi = q0; qi < q1; ++qi) {
    const double* l = &logits[(size_t)(qi - q0) * nd];
    Query& st = states_[qi];
    bool finite;
    const double top = row_max(l, nd, &finite);
    if (!finite) overflowed(m_);
    if (nd == 0) continue;
    if (top > st.m) {
      st.s = st.s == 0 ? 0 : st.s * std::exp(st.m - top);
      st.m = top;
    }
    st.s += sum_exp(l, nd, st.m, scratch.data());
    double floor = top_k_floor(st.heap.data(), st.size, k_);
    for (int j = 0; j < nd; ++j)
      if (l[j] >= floor && top_k_offer(st.heap.data(), &st.size, k_, TopEntry{l[j], keys[j]})) {
        entered[j] = 1;
        floor = top_k_floor(st.heap.data(), st.size, k_);
      }
  }
}

void CrossScan::add_documents(const float* d, const int64_t* keys, int nd) {
  std::copy(d, d + (size_t)nd * dims_, staging(0));
  std::copy(keys, keys + nd, staging_keys(0));
  start_documents(0, nd);
  finish_documents();
}

void CrossScan::start_documents(int slot, int nd) {
  const float* d = staging(slot);
  const int64_t* keys = staging_keys(slot);
  dnorm_.assign(nd, 0.0f);
  dplain_.assign(nd, 0);
  for (int j = 0; j < nd; ++j)
    dplain_[j] = plain_row(d + (size_t)j * dims_, dims_, form_ == Form::Cosine, &dnorm_[j]);
  all_plain_ = std::all_of(dplain_.begin(), dplain_.end(), [](uint8_t p) { return p != 0; });
  if (form_ != Form::PerRow) {
    panels_.resize((size_t)panel_docs(nd) * dims_);
    pack_panels(d, nd, dims_, panels_.data());
  }
  if (form_ == Form::PerRow && !still_valid(bound_)) {
    bound_ = bind(m_, dims_, jit_);
    std::copy(params_, params_ + m_.params.size(), bound_.params);
  }
  const int parts = (nq_ + kQueryTile - 1) / kQueryTile;
  part_entered_.resize(parts);
  for (auto& e : part_entered_) e.assign(nd, 0);
  started_docs_ = nd;
  auto work = [this, d, keys, nd](int p) { run_part(p, d, keys, nd); };
  // The per-row kernels run on this thread alone; one thread scores here.
  if (form_ == Form::PerRow || threads_ <= 1)
    for (int p = 0; p < parts; ++p) work(p);
  else
    background_.start(parts, threads_, work);
}

void CrossScan::finish_documents() {
  background_.wait();
  const int nd = started_docs_;
  entered_.assign(nd, 0);
  for (const auto& e : part_entered_)
    for (int j = 0; j < nd; ++j) entered_[j] |= e[j];
}

std::vector<int64_t> CrossScan::live_keys() const {
  std::vector<int64_t> keys;
  for (const Query& s : states_)
    for (int i = 0; i < s.size; ++i) keys.push_back(s.heap[i].key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::vector<TopEntry> CrossScan::partial(int i, double* m, double* s) const {
  const Query& st = states_[i];
  std::vector<TopEntry> out(st.heap.begin(), st.heap.begin() + st.size);
  top_k_sort(out.data(), (int)out.size());
  *m = st.m;
  *s = st.s;
  return out;
}

std::vector<TopEntry> CrossScan::top(int i) const {
  double m, s;
  std::vector<TopEntry> out = partial(i, &m, &s);
  const double lse = m + std::log(s);
  for (TopEntry& e : out) e.value = std::exp(e.value - lse);
  return out;
}

}  // namespace rvj::runtime
