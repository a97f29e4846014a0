// Sequence attention as the SQL functions share it (ruvector_attention,
// ruvector_sliding_attention). PostgreSQL side: these may ERROR.
#pragma once

#include "pg/vector_arrays.h"

namespace rvj::pg {

// The sequence mechanism called `type`, or an ERROR listing the valid ones.
const rvj::ir::SequenceMechanism* sequence_mechanism(const char* type);

// L = q.n queries over k.n (key, value) rows: plans (params in the
// mechanism's order), checks the working memory against work_mem (naming
// `function`), and runs the linear or flash schedule in bounded steps.
// Returns the ruvector[] (of vector_type) of the q.n output rows.
ArrayType* attend_sequence(const char* function, const rvj::ir::SequenceMechanism* m, const double* params, Rows q,
                           Rows k, Rows v, Oid vector_type);

// Additive attention (Bahdanau) with its weights: W_q (a rows of q.dim), W_k
// (a rows of k.dim) and v (a), params in the additive sequence mechanism's
// order. Returns the ruvector[] of q.n rows of v.dim.
Datum additive_attention(Sequence seq, const float* const* wq, const float* const* wk, const float* v, int a,
                         const double* params, const char* function);

}  // namespace rvj::pg
