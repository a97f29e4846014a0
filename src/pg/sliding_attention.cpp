// ruvector_sliding_attention(embeddings[], window_size, stride,
// attention_type, params): self-attention within windows that start every
// `stride` positions (runtime/schedules/windows.h), one row per window with
// its 1-based inclusive bounds and the attended vectors. Each window runs
// like ruvector_attention over its rows, in a memory context of its own.
#include "pg/attention_sequence.h"
#include "pg/errors.h"
#include "pg/params.h"
#include "runtime/schedules/windows.h"

extern "C" {
#include "utils/memutils.h"
}

using namespace rvj::pg;

RVJ_FUNCTION(ruvector_sliding_attention) {
  ArrayType* a = PG_GETARG_ARRAYTYPE_P(0);
  const int window = PG_GETARG_INT32(1), stride = PG_GETARG_INT32(2);
  const char* type = text_to_cstring(PG_GETARG_TEXT_PP(3));
  Jsonb* jb = PG_GETARG_JSONB_P(4);
  const int n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));

  // The windows as plain values before any vector is read (bad bounds
  // first); there are at most n / stride + 1 of them.
  int count = 0;
  rvj::runtime::Window* windows =
      (rvj::runtime::Window*)palloc(sizeof(rvj::runtime::Window) * ((size_t)n / Max(stride, 1) + 2));
  RVJ_ENGINE({
    const auto all = rvj::runtime::sliding_windows(n, window, stride);
    std::copy(all.begin(), all.end(), windows);
    count = (int)all.size();
  });
  const rvj::ir::SequenceMechanism* m = sequence_mechanism(type);
  double params[rvj::ir::kMaxParams];
  parse_params(jb, m->name, m->params, params);

  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  if (count == 0) return (Datum)0;  // an empty array has no windows
  Rows x = rows_of(a, "embeddings");
  MemoryContext per_window =
      AllocSetContextCreate(CurrentMemoryContext, "ruvector_sliding_attention window", ALLOCSET_DEFAULT_SIZES);
  for (int w = 0; w < count; w++) {
    CHECK_FOR_INTERRUPTS();
    const int start = windows[w].start, len = windows[w].end - windows[w].start;
    MemoryContext caller = MemoryContextSwitchTo(per_window);
    Rows rows{x.x + start, len, x.dim};
    ArrayType* out = attend_sequence("ruvector_sliding_attention", m, params, rows, rows, rows, ARR_ELEMTYPE(a));
    Datum values[3] = {Int32GetDatum(start + 1), Int32GetDatum(start + len), PointerGetDatum(out)};
    bool nulls[3] = {false, false, false};
    MemoryContextSwitchTo(caller);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);  // copies the tuple
    MemoryContextReset(per_window);
  }
  MemoryContextDelete(per_window);
  return (Datum)0;
}
