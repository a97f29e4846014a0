// The plan's form, ORDER BY ruvector_attention_score(col, q, 'scaled_dot')
// DESC LIMIT k, served by an index. PostgreSQL 15 matches an index's order
// only to an ordering operator, so a planner hook rewrites that sort key to
// the operator with the same order before planning:
//   scaled_dot: score = <col, q> / sqrt(d), so DESC by score is ASC by <#>;
//   cosine (no params): score = cos(col, q), so DESC is ASC by <=>.
// The score itself is still computed for the rows returned. Rows tied on the
// (real) score may come in another order, which ORDER BY allows. It applies
// only where the two orders are the same: the only sort key, no WITH TIES,
// one of the two vectors a plain column, the other free of the query's
// columns and of volatile functions, and NULLs in their place: the column
// NOT NULL outside any outer join, or DESC NULLS LAST (DESC alone puts NULL
// scores first, and an index has no NULLs). A hook exists
// once the library is loaded: with shared_preload_libraries, from the first
// query of every session.
#include "pg/index/index.h"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parse_oper.h"
#include "parser/parsetree.h"
#include "nodes/nodeFuncs.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"
}

namespace rvj::pg::index {

namespace {
planner_hook_type previous_planner = nullptr;
constexpr Oid kFloat4Greater = 623;  // >(real, real), fixed in pg_operator.dat

// Is fn our ruvector_attention_score(ruvector, ruvector, text, jsonb)?
bool is_score(Oid fn, Oid* vector_type) {
  HeapTuple tp = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tp)) return false;
  Form_pg_proc p = (Form_pg_proc)GETSTRUCT(tp);
  bool ok = strcmp(NameStr(p->proname), "ruvector_attention_score") == 0 && p->pronargs == 4 &&
            p->prorettype == FLOAT4OID && p->proargtypes.values[0] == p->proargtypes.values[1] &&
            p->proargtypes.values[0] != FLOAT4ARRAYOID;
  if (ok) {
    *vector_type = p->proargtypes.values[0];
    char* type_name = format_type_be(*vector_type);
    ok = strcmp(type_name, "ruvector") == 0 || strstr(type_name, ".ruvector") != nullptr;
  }
  ReleaseSysCache(tp);
  return ok;
}

const char* text_const(Node* n) {
  if (!IsA(n, Const) || ((Const*)n)->constisnull || ((Const*)n)->consttype != TEXTOID) return nullptr;
  return TextDatumGetCString(((Const*)n)->constvalue);
}

bool empty_object(Node* n) {
  if (!IsA(n, Const) || ((Const*)n)->constisnull || ((Const*)n)->consttype != JSONBOID) return false;
  Jsonb* jb = DatumGetJsonbP(((Const*)n)->constvalue);
  return JB_ROOT_IS_OBJECT(jb) && JB_ROOT_COUNT(jb) == 0;
}

// NOT NULL, and not on the nullable side of an outer join (where a NOT NULL
// column still reads NULL): any outer join in the query level rules it out.
bool not_null_column(Query* q, Var* v) {
  if (v->varlevelsup != 0 || v->varattno <= 0) return false;
  ListCell* lc;
  foreach (lc, q->rtable) {
    const RangeTblEntry* r = (const RangeTblEntry*)lfirst(lc);
    if (r->rtekind == RTE_JOIN && r->jointype != JOIN_INNER) return false;
  }
  RangeTblEntry* rte = rt_fetch(v->varno, q->rtable);
  if (rte->rtekind != RTE_RELATION) return false;
  HeapTuple tp = SearchSysCache2(ATTNUM, ObjectIdGetDatum(rte->relid), Int16GetDatum(v->varattno));
  if (!HeapTupleIsValid(tp)) return false;
  const bool nn = ((Form_pg_attribute)GETSTRUCT(tp))->attnotnull;
  ReleaseSysCache(tp);
  return nn;
}

Index next_sort_ref(Query* q) {
  Index top = 0;
  ListCell* lc;
  foreach (lc, q->targetList) top = Max(top, ((TargetEntry*)lfirst(lc))->ressortgroupref);
  return top + 1;
}

void rewrite(Query* q) {
  // One sort key: a second one (a tie-breaker) or WITH TIES would see the
  // real score's ties in the distance's finer order.
  if (q->commandType != CMD_SELECT || list_length(q->sortClause) != 1 || q->groupClause != NIL ||
      q->distinctClause != NIL || q->hasAggs || q->hasWindowFuncs || q->setOperations || q->hasTargetSRFs ||
      q->limitOption == LIMIT_OPTION_WITH_TIES)
    return;
  SortGroupClause* sgc = (SortGroupClause*)linitial(q->sortClause);
  if (sgc->sortop != kFloat4Greater) return;  // DESC by a real
  TargetEntry* tle = get_sortgroupclause_tle(sgc, q->targetList);
  if (!IsA(tle->expr, FuncExpr)) return;
  FuncExpr* f = (FuncExpr*)tle->expr;
  Oid vector_type;
  // (The parser leaves defaulted arguments out: 'scaled_dot' and '{}'.)
  const int nargs = list_length(f->args);
  if (nargs < 2 || !is_score(f->funcid, &vector_type)) return;
  const char* type = nargs >= 3 ? text_const((Node*)lthird(f->args)) : "scaled_dot";
  if (!type || (nargs == 4 && !empty_object((Node*)lfourth(f->args)))) return;
  const char* op = strcmp(type, "scaled_dot") == 0 ? "<#>" : strcmp(type, "cosine") == 0 ? "<=>" : nullptr;
  if (!op) return;
  Node* a = (Node*)linitial(f->args);
  Node* b = (Node*)lsecond(f->args);
  if (!IsA(a, Var)) std::swap(a, b);
  if (!IsA(a, Var) || ((Var*)a)->vartype != vector_type || contain_vars_of_level(b, 0) ||
      contain_volatile_functions(b))
    return;
  if (sgc->nulls_first && !not_null_column(q, (Var*)a)) return;
  HeapTuple typ = SearchSysCache1(TYPEOID, ObjectIdGetDatum(vector_type));
  if (!HeapTupleIsValid(typ)) return;
  const Oid schema = ((Form_pg_type)GETSTRUCT(typ))->typnamespace;
  ReleaseSysCache(typ);
  const Oid oper = OpernameGetOprid(list_make2(makeString(get_namespace_name(schema)), makeString((char*)op)),
                                    vector_type, vector_type);
  if (!OidIsValid(oper)) return;
  Expr* key = make_opclause(oper, FLOAT8OID, false, (Expr*)copyObject(a), (Expr*)copyObject(b), InvalidOid,
                            InvalidOid);
  ((OpExpr*)key)->opfuncid = get_opcode(oper);
  TargetEntry* sort_tle = makeTargetEntry(key, (AttrNumber)(list_length(q->targetList) + 1), nullptr, true);
  sort_tle->ressortgroupref = next_sort_ref(q);
  q->targetList = lappend(q->targetList, sort_tle);
  sgc->tleSortGroupRef = sort_tle->ressortgroupref;
  sgc->sortop = Float8LessOperator;
  sgc->eqop = get_equality_op_for_ordering_op(Float8LessOperator, nullptr);
  sgc->nulls_first = false;
  sgc->hashable = true;
}

bool walk(Node* node, void* context);
// PostgreSQL 15's walkers take an unprototyped function pointer; going
// through void (*)(void) is the cast GCC accepts as deliberate.
bool (*walker())() { return (bool (*)())(void (*)(void))walk; }

// Every query level: subqueries in FROM, CTEs, sublinks.
bool walk(Node* node, void* context) {
  if (node == nullptr) return false;
  if (IsA(node, Query)) {
    rewrite((Query*)node);
    return query_tree_walker((Query*)node, walker(), context, 0);
  }
  return expression_tree_walker(node, walker(), context);
}

PlannedStmt* planner(Query* parse, const char* query_string, int cursor_options, ParamListInfo params) {
  walk((Node*)parse, nullptr);
  return previous_planner ? previous_planner(parse, query_string, cursor_options, params)
                          : standard_planner(parse, query_string, cursor_options, params);
}
}  // namespace

void init_order_by() {
  previous_planner = planner_hook;
  planner_hook = planner;
}

}  // namespace rvj::pg::index
