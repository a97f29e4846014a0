#include "ir/recipes/routing.h"

namespace rvj::ir {

const std::vector<RoutingMechanism>& routing_mechanisms() {
  static const std::vector<RoutingMechanism> all = {
      {"moe_topk", "topk", Router::TopK, "O(E*d) per vector",
       "sending each vector to its top_k experts (sparse mixture-of-experts layers, sharding by topic)",
       "num_experts=8 (a whole number from 1 to 4096; with a model, its count), top_k=2 (a whole number from 1 to num_experts), model=NULL (a moe_gate model), router=topk in params",
       "weights = softmax over the top_k of g = W x + b (the others 0)",
       "Shazeer et al. 2017; Jiang et al. 2024, Mixtral of Experts",
       "ruvector_moe_route(embedding, num_experts, top_k, model, params => '{\"router\": \"topk\"}')"},
      {"switch", "switch", Router::Switch, "O(E*d) per vector",
       "one expert per vector, with a confidence (Switch layers, hard partitioning)",
       "num_experts=8 (a whole number from 1 to 4096; with a model, its count), top_k=1 (only 1), model=NULL (a moe_gate model), router=switch in params",
       "expert = argmax g, weight = softmax(g)[expert]", "Fedus et al. 2022, Switch Transformers",
       "ruvector_moe_route(embedding, num_experts, top_k => 1, params => '{\"router\": \"switch\"}')"},
      {"expert_choice", "expert_choice", Router::ExpertChoice, "O(n*E*d + E*n log n) per set",
       "balanced load: every expert takes the same number of rows of a set",
       "num_experts=8 (a whole number from 1 to 4096; with a model, its count), capacity_factor=2 (a number greater than 0), model=NULL (a moe_gate model)",
       "S = softmax over experts of g; expert e takes the capacity rows with the largest S[., e]",
       "Zhou et al. 2022, Mixture-of-Experts with Expert Choice Routing",
       "ruvector_moe_expert_choice(embeddings, num_experts, capacity_factor, model)"},
  };
  return all;
}

const RoutingMechanism* find_router(std::string_view router) {
  for (const RoutingMechanism& m : routing_mechanisms())
    if (m.kind != Router::ExpertChoice && router == m.router) return &m;
  return nullptr;
}

}  // namespace rvj::ir
