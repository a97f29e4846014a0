#include "runtime/kernel_cache.h"

#include <algorithm>
#include <optional>

#include "ir/errors.h"
#include "runtime/codegen_loader.h"

namespace rvj::runtime {

const char* source_name(Source s) {
  switch (s) {
    case Source::Memory: return "memory cache";
    case Source::Disk: return "disk cache";
    case Source::CompiledNow: return "compiled now";
  }
  return "?";
}

std::string kernel_key(const ir::Mechanism& m, int dims, codegen::Isa isa, ir::KernelKind kind, int value_dims,
                       ir::TileWeights weights, ir::FeatureMap features) {
  if (kind == ir::KernelKind::Panel || kind == ir::KernelKind::Features)
    return std::string(ir::kind_name(kind, weights, features)) + ":" + m.name + "/" + codegen::isa_name(isa);
  if (kind != ir::KernelKind::Row)
    return std::string(ir::kind_name(kind, weights)) + ":" + m.name + "/" + std::to_string(dims) + "x" + std::to_string(value_dims) + "/" +
           codegen::isa_name(isa);
  return std::string(m.name) + "/" + std::to_string(dims) + "/" + codegen::isa_name(isa);
}

Kernel& KernelCache::get(const ir::Mechanism& m, int dims, bool compile, Source* source, ir::KernelKind kind,
                         int value_dims, codegen::Inspection* shown, ir::TileWeights weights,
                         ir::FeatureMap features) {
  const bool any_length = kind == ir::KernelKind::Panel || kind == ir::KernelKind::Features;
  if (kind == ir::KernelKind::Row || any_length) {  // no values, no weights
    value_dims = 0;
    weights = ir::TileWeights::Softmax;
  }
  if (kind != ir::KernelKind::Features) features = ir::FeatureMap::EluPlus1;
  if (any_length) dims = 0;  // the length is a runtime argument
  Kernel* k = nullptr;
  for (auto& e : entries_)
    if (e->mechanism == &m && e->dims == dims && e->kind == kind && e->value_dims == value_dims &&
        e->ir.weights == weights && e->ir.features == features) {
      k = e.get();
      break;
    }
  const bool found = k != nullptr;
  if (!found) {
    ir::Function fn = m.build(any_length ? 1 : dims);
    if (kind == ir::KernelKind::Panel)
      fn = ir::panel_kernel(fn);
    else if (kind == ir::KernelKind::Features)
      fn = ir::feature_kernel(fn, features);
    else if (kind != ir::KernelKind::Row)
      fn = ir::tile_kernel(fn, value_dims, kind, weights);
    auto fresh = std::make_unique<Kernel>(Kernel{&m, dims, kind, value_dims,
                                                 kernel_key(m, dims, codegen::host_target().isa, kind, value_dims,
                                                            weights, features),
                                                 std::move(fn), {}, 0, 0, Source::CompiledNow});
    k = fresh.get();
    entries_.push_back(std::move(fresh));
  }
  k->last_used = ++clock_;
  if (compile && !k->code.fn) {
    this->compile(*k, source, shown);
  } else {
    if (found) ++k->hits;
    if (source) *source = Source::Memory;
    if (found) return *k;  // nothing grew
  }
  evict_except(k);
  return *k;
}

size_t KernelCache::bytes() const {
  size_t total = 0;
  for (const auto& e : entries_) total += charge(*e);
  return total;
}

void KernelCache::evict_except(const Kernel* keep) {
  // The least recently used kernels go until the rest fit.
  size_t total = bytes();
  while (total > capacity_ && entries_.size() > 1) {
    auto lru = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->get() != keep && (lru == entries_.end() || (*it)->last_used < (*lru)->last_used)) lru = it;
    if (lru == entries_.end()) break;
    total -= charge(**lru);
    entries_.erase(lru);
    ++generation_;
  }
}

void KernelCache::compile(Kernel& k, Source* source, codegen::Inspection* shown) {
  if (disk_ && disk_->enabled()) {
    if (std::optional<std::string> object = disk_->load(k.ir, notices_)) {
      try {
        k.code = code_generator().load_object(k.ir, *object);
        k.origin = Source::Disk;
        if (source) *source = Source::Disk;
        return;
      } catch (const Error& e) {
        notices_.push_back({true, "could not link cached kernel " + k.key + " (" + e.what() + "); recompiling"});
      }
    }
  }
  k.code = code_generator().compile(k.ir, shown);
  k.origin = Source::CompiledNow;
  if (source) *source = Source::CompiledNow;
  if (disk_) disk_->store(k.ir, k.code.object, notices_);
  k.code.object.clear();  // on disk now (or not wanted): no need to keep it in memory
  k.code.object.shrink_to_fit();
}

size_t KernelCache::clear() {
  size_t n = entries_.size();
  entries_.clear();
  ++generation_;
  return n;
}

void KernelCache::set_capacity(size_t bytes) { capacity_ = bytes; }

KernelCache& backend_cache() {
  static KernelCache* cache = new KernelCache(&backend_disk_cache());
  return *cache;
}

}  // namespace rvj::runtime
