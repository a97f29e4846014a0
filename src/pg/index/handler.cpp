// The access method's handler: what ruvector_attention can do, and where.
#include "pg/index/index.h"

extern "C" {
#include "access/amvalidate.h"
}

using namespace rvj::pg::index;

namespace {
char* phase_name(int64 phase) {
  switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE: return pstrdup("initializing");
    case kPhaseLoad: return pstrdup("loading tuples");
    case kPhaseLink: return pstrdup("linking the graph");
    case kPhaseWrite: return pstrdup("writing pages");
  }
  return nullptr;
}

// The operator classes are ours and fixed by the install script: each has
// one ordering operator and its distance function.
bool validate(Oid) { return true; }

IndexBuildResult* am_build(Relation heap, Relation index, IndexInfo* info) { return build(heap, index, info); }
void am_build_empty(Relation index) { build_empty(index); }
bool am_insert(Relation index, Datum* values, bool* isnull, ItemPointer tid, Relation heap, IndexUniqueCheck check,
               bool unchanged, IndexInfo* info) {
  return insert(index, values, isnull, tid, heap, check, unchanged, info);
}
}  // namespace

RVJ_FUNCTION(ruvector_attention_handler) {
  IndexAmRoutine* am = makeNode(IndexAmRoutine);
  am->amstrategies = 0;
  am->amsupport = 1;
  am->amoptsprocnum = 0;
  am->amcanorder = false;
  am->amcanorderbyop = true;
  am->amcanbackward = false;
  am->amcanunique = false;
  am->amcanmulticol = false;
  am->amoptionalkey = true;
  am->amsearcharray = false;
  am->amsearchnulls = false;
  am->amstorage = false;
  am->amclusterable = false;
  am->ampredlocks = false;
  am->amcanparallel = false;
  am->amcaninclude = false;
  am->amusemaintenanceworkmem = false;
  am->amparallelvacuumoptions = VACUUM_OPTION_NO_PARALLEL;
  am->amkeytype = InvalidOid;

  am->ambuild = am_build;
  am->ambuildempty = am_build_empty;
  am->aminsert = am_insert;
  am->ambulkdelete = bulk_delete;
  am->amvacuumcleanup = vacuum_cleanup;
  am->amcanreturn = nullptr;
  am->amcostestimate = cost_estimate;
  am->amoptions = options;
  am->amproperty = nullptr;
  am->ambuildphasename = phase_name;
  am->amvalidate = validate;
  am->amadjustmembers = nullptr;
  am->ambeginscan = begin_scan;
  am->amrescan = rescan;
  am->amgettuple = get_tuple;
  am->amgetbitmap = nullptr;
  am->amendscan = end_scan;
  am->ammarkpos = nullptr;
  am->amrestrpos = nullptr;
  am->amestimateparallelscan = nullptr;
  am->aminitparallelscan = nullptr;
  am->amparallelrescan = nullptr;
  PG_RETURN_POINTER(am);
}
