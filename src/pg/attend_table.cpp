// ruvector_attend_table(table_name, query, key_column, value_column,
// attention_type): the aggregate ruvector_attend(query, key, value) over
// every row of a table, with the work pushed into its partitions. On a
// partitioned table each partition runs ruvector_attend_state, which
// postgres_fdw pushes down whole to a shard, and the states merge here
// exactly (runtime/online_softmax.h): one state of O(value dims) per
// partition crosses the network, never its rows. Any other table runs the
// aggregate itself.
#include "pg/errors.h"
#include "pg/params.h"
#include "pg/partitions.h"
#include "pg/table_source.h"
#include "pg/vector.h"

extern "C" {
#include "executor/spi.h"
#include "lib/stringinfo.h"
}

using namespace rvj::pg;

// (table_name, query, key_column, value_column, attention_type)
RVJ_FUNCTION(ruvector_attend_table) {
  static const char* const names[] = {"table_name", "query", nullptr, nullptr, "attention_type"};
  for (int i = 0; i < 5; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ruvector_attend_table: %s must not be null", names[i])));
  const Oid relid = PG_GETARG_OID(0);
  const Oid vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
  const TableSource keys = resolve_table("ruvector_attend_table", relid, vtype, text_arg(fcinfo, 2), nullptr,
                                         "table_name", "key_column", nullptr);
  // The values default to the keys (self-attention over the rows).
  const char* value_arg = text_arg(fcinfo, 3);
  const char* value_column =
      value_arg ? resolve_table("ruvector_attend_table", relid, vtype, value_arg, nullptr, "table_name",
                                "value_column", nullptr)
                      .column
                : keys.column;
  const char* schema = own_schema(fcinfo);

  Leaves leaves;
  StringInfoData sql;
  initStringInfo(&sql);
  if (partition_leaves(relid, &leaves) && leaves.count > 0) {
    appendStringInfo(&sql, "SELECT %s.ruvector_attend_merge(s) FROM (%s) AS partitions", schema,
                     union_all(leaves,
                               psprintf("SELECT %s.ruvector_attend_state($1, %s, %s, $3) AS s FROM", schema,
                                        keys.column, value_column),
                               ""));
  } else {
    appendStringInfo(&sql, "SELECT %s.ruvector_attend($1, %s, %s, $2) FROM %s", schema, keys.column, value_column,
                     keys.relation);
  }
  // The type goes to the partitions inside jsonb, which postgres_fdw ships
  // (params.h: attention_options).
  Oid types[3] = {vtype, TEXTOID, JSONBOID};
  Datum values[3] = {PG_GETARG_DATUM(1), PG_GETARG_DATUM(4),
                     PointerGetDatum(attention_options_jsonb(text_to_cstring(PG_GETARG_TEXT_PP(4)), nullptr))};
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_attend_table: SPI_connect failed");
  if (SPI_execute_with_args(sql.data, 3, types, values, nullptr, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
    elog(ERROR, "ruvector_attend_table: the aggregate query failed");
  bool isnull;
  Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  RuVector* result = nullptr;
  if (!isnull) {
    RuVector* v = DatumGetRuVector(d);
    result = (RuVector*)SPI_palloc(VARSIZE(v));
    memcpy(result, v, VARSIZE(v));
  }
  SPI_finish();
  if (result == nullptr) PG_RETURN_NULL();  // no row with a key and a value
  PG_RETURN_POINTER(result);
}
