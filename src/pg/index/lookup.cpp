// The index a table function may use for its approximate path
// (exact := false): a valid ruvector_attention index on the plain column,
// ranking by the similarity the function needs.
#include "pg/index/index.h"

extern "C" {
#include "catalog/pg_index.h"
#include "commands/defrem.h"
}

namespace rvj::pg::index {

Oid find_index(Oid relid, AttrNumber attnum, Metric metric, Shape* shape) {
  const Oid am = get_index_am_oid("ruvector_attention", true);
  if (!OidIsValid(am) || get_rel_relkind(relid) != RELKIND_RELATION) return InvalidOid;
  Relation rel = table_open(relid, AccessShareLock);
  List* indexes = RelationGetIndexList(rel);
  Oid found = InvalidOid;
  ListCell* lc;
  foreach (lc, indexes) {
    const Oid oid = lfirst_oid(lc);
    Relation index = index_open(oid, AccessShareLock);
    const bool fits = index->rd_rel->relam == am && index->rd_index->indisvalid && index->rd_index->indnatts == 1 &&
                      index->rd_index->indkey.values[0] == attnum && metric_of(index) == metric;
    if (fits && shape) *shape = index_shape(index);
    index_close(index, AccessShareLock);
    if (fits) {
      found = oid;
      break;
    }
  }
  list_free(indexes);
  table_close(rel, AccessShareLock);
  return found;
}

}  // namespace rvj::pg::index
