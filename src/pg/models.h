// Learned models in the database (ruvector_models, ruvector_model_tensors):
// read with the caller's rights, so row-level security decides who may use
// a model and who may replace it.
#pragma once

#include "pg/pg.h"
#include "ir/recipes/models.h"

namespace rvj::pg {

struct ModelTensor {
  const char* name;
  int ndim;
  int shape[MAXDIM];
  int64_t size;
  const float* data;
};

struct Model {
  const char* name;
  const rvj::ir::ModelKind* kind;
  int ntensors;
  const ModelTensor* tensors;
  double config[rvj::ir::kMaxParams];  // the kind's config params, in its order
  int nsymbols;                 // the kind's symbols bound by the tensors
  const char* symbol_name[8];   // static: the kind's spec strings
  int64_t symbol[8];
};

// Reads model `name` of kind `kind` (null: any kind; m.kind says which) for
// `function`, in CurrentMemoryContext.
// ERRORs: no such model (or none the caller may read), another kind, or
// tensors that fail the kind's checks (a direct INSERT can bypass load).
Model read_model(FunctionCallInfo fcinfo, const char* function, const char* name, const char* kind);

// The tensor called `name`, or nullptr (an optional tensor not given).
const ModelTensor* model_tensor(const Model& m, const char* name);
// The value of a symbol of the model's kind ("num_experts", "dims").
int64_t model_symbol(const Model& m, const char* symbol);

}  // namespace rvj::pg
