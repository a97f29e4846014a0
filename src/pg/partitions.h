// The partitions of a table, for the per-partition forms of the table
// functions (ruvector_search, ruvector_attend_table, and the sharded paths
// of ruvector_mha_search and ruvector_cross_attention). PostgreSQL 15's
// postgres_fdw pushes LIMIT and aggregates down only for a query on a single
// foreign table, so these functions query each leaf partition on its own
// and merge the small results: k rows or one state per partition, never its
// rows.
#pragma once

#include "pg/pg.h"

namespace rvj::pg {

struct Leaf {
  Oid relid;
  const char* relation;  // schema-qualified and quoted
  bool foreign;
};

struct Leaves {
  int count;
  Leaf* leaf;
  bool any_foreign;
};

// The leaf partitions of relid, when it is a partitioned table that the
// caller can read partition by partition with the same result as through
// the parent: SELECT on every leaf, and row-level security active on none
// of them nor on the parent (querying a leaf directly would bypass the
// parent's policies and apply the leaf's own). False otherwise: the caller
// then reads the table as a whole.
bool partition_leaves(Oid relid, Leaves* out);

// One query over every leaf, "(<head> ONLY <leaf> <tail>) UNION ALL ...":
// an Append of the leaves' scans, so with postgres_fdw's async_capable
// server option the shards work at the same time. A row per leaf, in order.
const char* union_all(const Leaves& leaves, const char* head, const char* tail);

}  // namespace rvj::pg
