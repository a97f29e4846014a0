// The ruvector datum: pgvector's exact memory layout, so a binary-coercible
// cast from pgvector's vector needs no copy.
#pragma once

#include "pg/pg.h"

#define RUVECTOR_MAX_DIM (rvj::ir::kMaxDims)  // pgvector's limit (ir/limits.h)

struct RuVector {
  int32 vl_len_;  // varlena header (do not touch directly)
  int16 dim;
  int16 unused;   // always 0
  float x[FLEXIBLE_ARRAY_MEMBER];
};

#define RUVECTOR_SIZE(dim) (offsetof(RuVector, x) + sizeof(float) * (dim))
#define DatumGetRuVector(d) ((RuVector*)PG_DETOAST_DATUM(d))
#define PG_GETARG_RUVECTOR_P(n) DatumGetRuVector(PG_GETARG_DATUM(n))
#define PG_RETURN_RUVECTOR_P(v) PG_RETURN_POINTER(v)

namespace rvj::pg {

RuVector* new_vector(int dim);
// ERROR unless 1 <= dim <= RUVECTOR_MAX_DIM.
void check_dim(int dim);
// ERROR if the typmod asks for another dimension count.
void check_expected_dim(int32 typmod, int dim);
// ERROR on NaN or infinity.
void check_element(float value);
// pgvector's message for mismatched dimensions.
void check_same_dims(const RuVector* a, const RuVector* b);

// The module's GUCs.
extern bool jit_enabled;
// Threads a call may use: ruvector_jit.threads, capped by the superuser's
// ruvector_jit.max_threads.
int call_threads();
// Threads CREATE INDEX may use: max_parallel_maintenance_workers + 1, capped
// by ruvector_jit.max_threads.
int maintenance_threads();

}  // namespace rvj::pg

namespace rvj::pg {
float* array_to_floats(ArrayType* array, int* dim_out);
}
