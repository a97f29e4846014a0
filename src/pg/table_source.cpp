#include "pg/table_source.h"

extern "C" {
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
}

namespace rvj::pg {

namespace {

bool integer_type(Oid t) { return t == INT2OID || t == INT4OID || t == INT8OID; }

// The column named `name` of rel, or an ERROR naming the relation.
Form_pg_attribute named_column(Relation rel, const char* name, const char* arg) {
  TupleDesc td = RelationGetDescr(rel);
  for (int i = 0; i < td->natts; i++) {
    Form_pg_attribute a = TupleDescAttr(td, i);
    if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0) return a;
  }
  ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                  errmsg("column \"%s\" of relation \"%s\" does not exist", name, RelationGetRelationName(rel)),
                  errhint("%s names a column of the relation (case-sensitive, unquoted).", arg)));
}

Form_pg_attribute vector_column(Relation rel, Oid vector_type, const char* column, const char* column_arg) {
  TupleDesc td = RelationGetDescr(rel);
  if (column) {
    Form_pg_attribute a = named_column(rel, column, column_arg);
    if (a->atttypid != vector_type)
      ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                      errmsg("column \"%s\" of relation \"%s\" is of type %s, not ruvector", column,
                             RelationGetRelationName(rel), format_type_be(a->atttypid)),
                      errhint("Cast or copy the vectors into a ruvector column.")));
    return a;
  }
  Form_pg_attribute found = nullptr;
  int count = 0;
  for (int i = 0; i < td->natts; i++) {
    Form_pg_attribute a = TupleDescAttr(td, i);
    if (!a->attisdropped && a->atttypid == vector_type) found = a, count++;
  }
  if (count != 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("relation \"%s\" has %s ruvector column", RelationGetRelationName(rel),
                           count == 0 ? "no" : "more than one"),
                    errhint(count == 0 ? "The vectors must be in a column of type ruvector."
                                       : "Name the column to search: %s => 'column'.",
                            column_arg)));
  return found;
}

Form_pg_attribute id_column(Relation rel, const char* id, const char* id_arg) {
  if (id) return named_column(rel, id, id_arg);
  Oid pk = RelationGetPrimaryKeyIndex(rel);
  int attnum = 0;
  if (OidIsValid(pk)) {
    HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
    if (HeapTupleIsValid(tup)) {
      Form_pg_index ix = (Form_pg_index)GETSTRUCT(tup);
      if (ix->indnkeyatts == 1) attnum = ix->indkey.values[0];
      ReleaseSysCache(tup);
    }
  }
  if (attnum <= 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("relation \"%s\" has no single-column primary key to use as the id",
                           RelationGetRelationName(rel)),
                    errhint("Name the id column: %s => 'column'.", id_arg)));
  return TupleDescAttr(RelationGetDescr(rel), attnum - 1);
}

}  // namespace

namespace {
// The relation's name, after checking it has rows and the caller may read
// it (or some of its columns; the query that reads them then checks exactly
// which). Before anything about its columns shows in a message.
char* readable_relation(const char* function, Oid relid, const char* table_arg) {
  char* name = get_rel_name(relid);
  if (name == nullptr)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
  const char relkind = get_rel_relkind(relid);
  if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE && relkind != RELKIND_VIEW &&
      relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("%s: \"%s\" is not a table, view, materialized view or foreign table", function, name),
                    errhint("%s must name a relation with rows.", table_arg)));
  const Oid user = GetUserId();
  if (pg_class_aclcheck(relid, user, ACL_SELECT) != ACLCHECK_OK &&
      pg_attribute_aclcheck_all(relid, user, ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
    aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(relkind), name);
  return name;
}

Form_pg_attribute find_column(Relation rel, const char* name) {
  TupleDesc td = RelationGetDescr(rel);
  for (int i = 0; i < td->natts; i++) {
    Form_pg_attribute a = TupleDescAttr(td, i);
    if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0) return a;
  }
  return nullptr;
}

Form_pg_attribute integer_column(Relation rel, const char* function, const char* name, const char* arg) {
  Form_pg_attribute a = named_column(rel, name, arg);
  if (!integer_type(a->atttypid))
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("%s: column \"%s\" of relation \"%s\" is of type %s; node ids must be smallint, integer "
                           "or bigint",
                           function, name, RelationGetRelationName(rel), format_type_be(a->atttypid))));
  return a;
}
}  // namespace

EdgeSource resolve_edges(const char* function, Oid relid, const char* source, const char* target,
                         const char* table_arg, const char* source_arg, const char* target_arg) {
  char* name = readable_relation(function, relid, table_arg);
  Relation rel = relation_open(relid, AccessShareLock);
  Form_pg_attribute src = nullptr, dst = nullptr;
  if (source || target) {
    if (!source || !target)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: name both edge columns or neither", function),
                      errhint("Pass %s and %s together.", source_arg, target_arg)));
  } else if (find_column(rel, "src") && find_column(rel, "dst")) {
    source = "src", target = "dst";
  } else if (find_column(rel, "source") && find_column(rel, "target")) {
    source = "source", target = "target";
  } else {
    TupleDesc td = RelationGetDescr(rel);
    for (int i = 0; i < td->natts && !target; i++) {
      Form_pg_attribute a = TupleDescAttr(td, i);
      if (a->attisdropped || a->atttypid != INT8OID) continue;
      if (!source) source = NameStr(a->attname);
      else target = NameStr(a->attname);
    }
    if (!target)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                      errmsg("%s: relation \"%s\" has no edge columns src/dst, source/target or two bigint columns",
                             function, name),
                      errhint("Name them: %s => 'from_col', %s => 'to_col'.", source_arg, target_arg)));
  }
  src = integer_column(rel, function, source, source_arg);
  dst = integer_column(rel, function, target, target_arg);
  EdgeSource e;
  e.relid = relid;
  e.relation = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), name);
  e.source = quote_identifier(pstrdup(NameStr(src->attname)));
  e.target = quote_identifier(pstrdup(NameStr(dst->attname)));
  relation_close(rel, NoLock);
  return e;
}

TableSource resolve_table(const char* function, Oid relid, Oid vector_type, const char* column, const char* id,
                          const char* table_arg, const char* column_arg, const char* id_arg) {
  char* name = readable_relation(function, relid, table_arg);
  Relation rel = relation_open(relid, AccessShareLock);
  Form_pg_attribute vec = vector_column(rel, vector_type, column, column_arg);
  Form_pg_attribute key = id_arg ? id_column(rel, id, id_arg) : nullptr;
  TableSource t;
  t.relid = relid;
  t.relation = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), name);
  t.column = quote_identifier(pstrdup(NameStr(vec->attname)));
  t.id = key ? quote_identifier(pstrdup(NameStr(key->attname))) : nullptr;
  t.id_type = key ? key->atttypid : InvalidOid;
  t.integer_id = key && integer_type(key->atttypid);
  t.dims = vec->atttypmod > 0 ? vec->atttypmod : -1;
  t.attnum = vec->attnum;
  relation_close(rel, NoLock);  // the lock stays until the transaction ends
  return t;
}

const char* text_arg(FunctionCallInfo fcinfo, int i) {
  return PG_ARGISNULL(i) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

Oid own_vector_type(FunctionCallInfo fcinfo) {
  const Oid nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
  return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("ruvector"), ObjectIdGetDatum(nsp));
}

const char* id_select(const TableSource& t) { return psprintf("%s::%s", t.id, t.integer_id ? "bigint" : "text"); }

const char* own_schema(FunctionCallInfo fcinfo) {
  return quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
}

}  // namespace rvj::pg
