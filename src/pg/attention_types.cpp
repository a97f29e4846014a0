// ruvector_attention_types(): one row per attention type that really works,
// read from the recipe registry.
#include "pg/errors.h"
#include "pg/vector.h"

RVJ_FUNCTION(ruvector_attention_types) {
  const std::vector<rvj::ir::Mechanism>* all = nullptr;
  RVJ_ENGINE(all = &rvj::ir::mechanisms());

  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  for (size_t i = 0; i < all->size(); i++) {
    const rvj::ir::Mechanism& m = (*all)[i];
    if (!m.attention_type) continue;
    StringInfoData params;
    initStringInfo(&params);
    for (size_t p = 0; p < m.params.size(); p++)
      appendStringInfo(&params, "%s%s=%g", p ? ", " : "", m.params[p].name, m.params[p].default_value);
    Datum values[8] = {
        CStringGetTextDatum(m.name),      CStringGetTextDatum(m.complexity),
        CStringGetTextDatum(m.best_for),  CStringGetTextDatum(m.family),
        CStringGetTextDatum(params.data), CStringGetTextDatum(m.score_form),
        BoolGetDatum(true),               CStringGetTextDatum(m.paper),
    };
    bool nulls[8] = {};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}
