#include "ir/recipes/models.h"

#include "ir/errors.h"

namespace rvj::ir {

const std::vector<ModelKind>& model_kinds() {
  static const std::vector<ModelKind> all = {
      {"moe_gate",
       "a mixture-of-experts gate, torch.nn.Linear(dims, num_experts): scores g = weight x + bias",
       {{"weight", {"num_experts", "dims"}, false, "one row per expert"},
        {"bias", {"num_experts"}, true, "added to the scores; absent means 0"}}},
  };
  return all;
}

const ModelKind* find_model_kind(std::string_view name) {
  for (const ModelKind& k : model_kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::string model_kind_names() {
  std::string s;
  for (const ModelKind& k : model_kinds()) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

int64_t binding(const Bindings& b, std::string_view symbol) {
  for (const auto& [name, value] : b)
    if (symbol == name) return value;
  return 0;
}

namespace {
std::string shape_text(const std::vector<const char*>& dims, const Bindings& b) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    const int64_t v = binding(b, dims[i]);
    s += v ? std::string(dims[i]) + " = " + std::to_string(v) : std::string(dims[i]);
  }
  return s + "]";
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string tensor_list(const ModelKind& kind) {
  std::string s;
  for (const TensorSpec& t : kind.tensors)
    s += (s.empty() ? "" : ", ") + std::string(t.name) + " " + shape_text(t.dims, {}) + (t.optional ? " (optional)" : "");
  return s;
}
}  // namespace

Bindings check_model(const ModelKind& kind, const std::vector<GivenTensor>& given) {
  const std::string hint = std::string("A ") + kind.name + " model holds " + tensor_list(kind) + ".";
  for (size_t i = 0; i < given.size(); ++i) {
    bool known = false;
    for (const TensorSpec& t : kind.tensors) known |= given[i].name == t.name;
    if (!known)
      throw Error(ErrorKind::DataException,
                  "a " + std::string(kind.name) + " model has no tensor \"" + given[i].name + "\"", hint);
    for (size_t j = 0; j < i; ++j)
      if (given[j].name == given[i].name)
        throw Error(ErrorKind::DataException, "tensor \"" + given[i].name + "\" is given twice", hint);
  }
  Bindings b;
  for (const TensorSpec& t : kind.tensors) {
    const GivenTensor* g = nullptr;
    for (const GivenTensor& x : given)
      if (x.name == t.name) g = &x;
    if (!g) {
      if (t.optional) continue;
      throw Error(ErrorKind::DataException,
                  "a " + std::string(kind.name) + " model needs tensor \"" + t.name + "\" of shape " +
                      shape_text(t.dims, b),
                  hint);
    }
    bool ok = g->shape.size() == t.dims.size();
    for (size_t d = 0; ok && d < t.dims.size(); ++d) {
      const int64_t bound = binding(b, t.dims[d]);
      ok = g->shape[d] >= 1 && (bound == 0 || bound == g->shape[d]);
    }
    if (!ok)
      throw Error(ErrorKind::DataException,
                  "tensor \"" + g->name + "\" has shape " + shape_text(g->shape) + "; a " + kind.name +
                      " model needs " + shape_text(t.dims, b),
                  hint);
    for (size_t d = 0; d < t.dims.size(); ++d)
      if (!binding(b, t.dims[d])) b.emplace_back(t.dims[d], g->shape[d]);
  }
  return b;
}

}  // namespace rvj::ir
