#include "pg/partitions.h"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/rls.h"
}

namespace rvj::pg {

bool partition_leaves(Oid relid, Leaves* out) {
  if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE) return false;
  const Oid user = GetUserId();
  if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED) return false;
  List* all = find_all_inheritors(relid, AccessShareLock, nullptr);
  out->count = 0;
  out->any_foreign = false;
  out->leaf = (Leaf*)palloc(sizeof(Leaf) * list_length(all));
  ListCell* lc;
  foreach (lc, all) {
    const Oid child = lfirst_oid(lc);
    const char kind = get_rel_relkind(child);
    if (kind == RELKIND_PARTITIONED_TABLE) continue;  // rows live in the leaves only
    if (pg_class_aclcheck(child, user, ACL_SELECT) != ACLCHECK_OK ||
        check_enable_rls(child, InvalidOid, true) == RLS_ENABLED)
      return false;
    Leaf& l = out->leaf[out->count++];
    l.relid = child;
    l.relation = quote_qualified_identifier(get_namespace_name(get_rel_namespace(child)), get_rel_name(child));
    l.foreign = kind == RELKIND_FOREIGN_TABLE;
    out->any_foreign |= l.foreign;
  }
  return true;
}

const char* union_all(const Leaves& leaves, const char* head, const char* tail) {
  StringInfoData sql;
  initStringInfo(&sql);
  for (int i = 0; i < leaves.count; i++)
    appendStringInfo(&sql, "%s(%s ONLY %s%s%s)", i ? " UNION ALL " : "", head, leaves.leaf[i].relation,
                     *tail ? " " : "", tail);
  return sql.data;
}

}  // namespace rvj::pg
