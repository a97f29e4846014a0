// ruvector_attention_types(): one row per attention type that really works,
// read from the recipe registries (per-row and sequence).
#include "pg/errors.h"
#include "pg/vector.h"
#include "ir/recipes/models.h"
#include "ir/recipes/routing.h"
#include "ir/recipes/sequence.h"
#include "runtime/linear_table.h"

#include <cmath>

namespace {
// "name=default (range), ..." from the specs (ir::describe_param), copied
// into s after the C++ strings are gone.
void append_params(StringInfo s, const std::vector<rvj::ir::ParamSpec>& specs) {
  char* text = (char*)palloc(8192);
  RVJ_ENGINE({
    std::string all;
    for (const rvj::ir::ParamSpec& p : specs)
      if (!p.internal) all += (all.empty() ? "" : ", ") + rvj::ir::describe_param(p);
    snprintf(text, 8192, "%s", all.c_str());
  });
  appendStringInfoString(s, text);
}

bool takes(const std::vector<rvj::ir::ParamSpec>& specs, rvj::ir::Field f) {
  for (const rvj::ir::ParamSpec& p : specs)
    if (p.field == f) return true;
  return false;
}
}  // namespace

RVJ_FUNCTION(ruvector_attention_types) {
  const std::vector<rvj::ir::Mechanism>* rows = nullptr;
  const std::vector<rvj::ir::SequenceMechanism>* seqs = nullptr;
  RVJ_ENGINE({
    rows = &rvj::ir::mechanisms();
    seqs = &rvj::ir::sequence_mechanisms();
    rvj::ir::find_sequence_mechanism("scaled_dot");  // builds the generated entries once
  });

  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  auto put = [&](const char* name, const char* complexity, const char* best_for, const char* family,
                 const char* params, const char* score_form, bool per_row, const char* paper, const char* forms) {
    Datum values[9] = {
        CStringGetTextDatum(name),   CStringGetTextDatum(complexity), CStringGetTextDatum(best_for),
        CStringGetTextDatum(family), CStringGetTextDatum(params),     CStringGetTextDatum(score_form),
        BoolGetDatum(per_row),       CStringGetTextDatum(paper),      CStringGetTextDatum(forms),
    };
    bool nulls[9] = {};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  };
  for (size_t i = 0; i < rows->size(); i++) {
    const rvj::ir::Mechanism& m = (*rows)[i];
    if (!m.attention_type) continue;
    StringInfoData params, forms, added;
    initStringInfo(&params);
    append_params(&params, m.params);
    // The sequence form's own params (its entry, listed or generated).
    const rvj::ir::SequenceMechanism* seq = m.own_functions ? rvj::ir::find_weighted_sequence_mechanism(m.name)
                                                            : rvj::ir::find_sequence_mechanism(m.name);
    initStringInfo(&added);
    for (size_t p = 0; seq && p < seq->schedule_params; p++)
      appendStringInfo(&added, "%s%s", added.len ? ", " : "", seq->params[p].name);
    initStringInfo(&forms);
    if (strcmp(m.family, "graph") == 0) {  // per edge, over node and edge tables, from a model
      put(m.name, m.complexity, m.best_for, m.family, params.data, m.score_form, false, m.paper, m.own_functions);
      continue;
    }
    if (m.own_functions)  // its learned weights are arguments of its own functions
      appendStringInfo(&forms, "%s (the sequence form adds %s)", m.own_functions, added.data);
    else
      appendStringInfo(&forms, "score, weights, aggregate, sequence (adds %s), cross_attention", added.data);
    put(m.name, m.complexity, m.best_for, m.family, params.data, m.score_form, true, m.paper, forms.data);
  }
  for (size_t i = 0; i < seqs->size(); i++) {
    const rvj::ir::SequenceMechanism& m = (*seqs)[i];
    bool also_per_row = false;
    for (size_t j = 0; j < rows->size(); j++)
      if ((*rows)[j].attention_type && strcmp((*rows)[j].name, m.name) == 0) also_per_row = true;
    if (also_per_row) continue;
    StringInfoData params, form;
    initStringInfo(&params);
    append_params(&params, m.params);
    initStringInfo(&form);
    if (m.schedule == rvj::ir::Schedule::Sinkhorn)
      appendStringInfoString(&form, "exp(q.k / sqrt(d)) normalised by rows and columns in turn (iterations), times V "
                                    "per head");
    else if (m.schedule == rvj::ir::Schedule::Nystrom)
      appendStringInfoString(&form, "softmax(Q K~^T) pinv(softmax(Q~ K~^T)) softmax(Q~ K^T) V per head, landmarks "
                                    "Q~, K~ the means of num_landmarks segments");
    else if (m.schedule == rvj::ir::Schedule::Retention)
      appendStringInfoString(&form, "sum over keys m <= n of gamma^(n-m) (q_n . k_m) v_m per head, no normaliser");
    else if (m.schedule == rvj::ir::Schedule::Linear)
      appendStringInfo(&form, "phi(q).sum phi(k)v^T / (phi(q).sum phi(k) + eps) per head, phi = %s%s",
                       rvj::ir::feature_map_name(m.features),
                       m.mask == rvj::ir::MaskKind::Causal ? ", prefix sums (j <= i)"
                       : takes(m.params, rvj::ir::Field::Causal) ? ", optional prefix sums (j <= i)"
                                                                        : "");
    else
    appendStringInfo(&form, "%s(%s logits%s%s%s%s) V per head%s", rvj::ir::normaliser_name(m.normaliser), m.score,
                     m.mask == rvj::ir::MaskKind::None ? "" : ", ", rvj::ir::mask_kind_name(m.mask),
                     m.positional == rvj::ir::Positional::Alibi  ? ", ALiBi bias"
                     : m.positional == rvj::ir::Positional::Rope ? ", RoPE on q and k"
                                                                 : "",
                     takes(m.params, rvj::ir::Field::Causal) && m.mask != rvj::ir::MaskKind::Window &&
                             m.mask != rvj::ir::MaskKind::DilatedWindow
                         ? ", optional causal mask"
                         : "",
                     m.heads == rvj::ir::HeadMap::Grouped  ? ", heads share num_kv_heads key/value heads"
                     : m.heads == rvj::ir::HeadMap::Single ? ", heads share one key/value head"
                                                           : "");
    // The sparse normalisers also weigh a set (ruvector_attention_weights).
    put(m.name, m.complexity, m.best_for, m.family, params.data, form.data, false, m.paper,
        m.normaliser != rvj::ir::Normaliser::Softmax ? "weights, sequence"
        : rvj::runtime::linear_table_form(m)         ? "sequence, table state (ruvector_linear_state)"
                                                     : "sequence");
  }
  // Mechanisms that are a model kind of their own (ruvector_model_attention).
  for (const rvj::ir::ModelKind& k : rvj::ir::model_kinds()) {
    if (!k.listing) continue;
    StringInfoData params, forms;
    initStringInfo(&params);
    append_params(&params, k.config);
    initStringInfo(&forms);
    appendStringInfo(&forms, "ruvector_model_attention(model, queries, keys, values) with a %s model", k.name);
    put(k.name, k.listing->complexity, k.listing->best_for, k.listing->family, params.data, k.listing->form, false,
        k.listing->paper, forms.data);
  }
  // Per-row mechanisms with a function of their own.
  for (const rvj::ir::FunctionMechanism& f : rvj::ir::function_mechanisms())
    put(f.name, f.complexity, f.best_for, f.family, f.params, f.score_form, true, f.paper, f.sql);
  // The routers: per vector (ruvector_moe_route) or over a set.
  for (const rvj::ir::RoutingMechanism& r : rvj::ir::routing_mechanisms())
    put(r.name, r.complexity, r.best_for, "routing", r.params, r.form, false, r.paper, r.sql);
  return (Datum)0;
}
