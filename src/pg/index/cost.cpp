// The planner's estimate. The index serves only ORDER BY col <op> q: without
// an ordering operator it is never chosen. The search's work is paid before
// the first row (startup: about ef_search * 2m distance computations and the
// pages they touch); walking on through the whole graph costs every node and
// page, so a LIMIT makes the index cheap and an ORDER BY without one keeps
// the sequential scan and sort.
#include "pg/index/index.h"

extern "C" {
#include "utils/float.h"
}

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

void cost_estimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup, Cost* total,
                   Selectivity* selectivity, double* correlation, double* pages) {
  if (path->indexorderbys == NIL) {
    *startup = *total = get_float8_infinity();
    *selectivity = 0;
    *correlation = 0;
    *pages = 0;
    return;
  }
  IndexOptInfo* info = path->indexinfo;
  const double tuples = Max(info->tuples, 1.0);
  const int m = hnsw::kDefaultM;
  GenericCosts costs;
  memset(&costs, 0, sizeof costs);
  // The whole walk.
  costs.numIndexTuples = tuples;
  genericcostestimate(root, path, loop_count, &costs);
  const double whole = costs.indexTotalCost;
  // The first ef rows: the nodes the search expands, their neighbours' keys.
  const double visited = Min(tuples, (double)ef_search * 2 * m * (1 + log(tuples) / log(2.0 * m)) / 4);
  const double first = whole * visited / tuples;
  *startup = first;
  *total = Max(whole, first);
  *selectivity = 1.0;
  *correlation = 0;
  *pages = costs.numIndexPages;
}

}  // namespace rvj::pg::index
