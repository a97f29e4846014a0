// The tables behind ruvector_mha_search and ruvector_cross_attention: a
// regclass the caller may read, its vector column and its id column, checked
// against the catalog and quoted, so the SPI queries built from them are
// injection-free. The queries themselves run with the caller's rights, so
// privileges and row-level security hold.
#pragma once

#include "pg/pg.h"

namespace rvj::pg {

struct TableSource {
  Oid relid;
  const char* relation;  // schema-qualified and quoted
  const char* column;    // the vector column, quoted
  const char* id;        // the id column, quoted
  Oid id_type;
  bool integer_id;       // smallint, integer or bigint
  int dims;              // from the column's typmod, or -1
  AttrNumber attnum;     // the vector column's
};

// Resolves `column` (NULL: the relation's single column of type vector_type)
// and `id` (NULL: its single-column primary key) of `relid` for `function`,
// after checking the caller may SELECT from it. The argument names
// (table_arg, column_arg, id_arg) appear in the messages; id_arg null means
// no id is needed (t.id null).
TableSource resolve_table(const char* function, Oid relid, Oid vector_type, const char* column, const char* id,
                          const char* table_arg, const char* column_arg, const char* id_arg);

// The edge columns of an edge table: named (both or neither), else src/dst,
// else source/target, else its first two bigint columns; integer types.
struct EdgeSource {
  Oid relid;
  const char* relation;  // schema-qualified and quoted
  const char* source;    // quoted
  const char* target;    // quoted
};
EdgeSource resolve_edges(const char* function, Oid relid, const char* source, const char* target,
                         const char* table_arg, const char* source_arg, const char* target_arg);

// Argument i as a C string, or nullptr when it is NULL.
const char* text_arg(FunctionCallInfo fcinfo, int i);

// The ruvector type of the function's own schema (for functions without a
// ruvector argument).
Oid own_vector_type(FunctionCallInfo fcinfo);

// The id as the SPI queries select it: ::bigint for integer ids, else ::text.
const char* id_select(const TableSource& t);

// The schema of the function being called, quoted (for the extension's own
// helpers in SPI queries, whatever the search_path).
const char* own_schema(FunctionCallInfo fcinfo);

}  // namespace rvj::pg
