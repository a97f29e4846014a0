// Mixture-of-experts routers (catalogue 37-39): a gate scores each vector
// against every expert, g = W x + b, and the router turns the scores into a
// choice of experts. The math lives in runtime/moe; this is the registry that
// ruvector_attention_types(), the SQL parsers and the docs read.
#pragma once

#include <string_view>
#include <vector>

namespace rvj::ir {

enum class Router : uint8_t {
  TopK,          // Mixtral: softmax over the top_k gate scores
  Switch,        // Switch Transformer: top-1 with its full-softmax probability
  ExpertChoice,  // Zhou et al. 2022: each expert takes its top rows of a set
};

struct RoutingMechanism {
  const char* name;    // the catalogue's name
  const char* router;  // the value of params' "router" (or the set form's name)
  Router kind;
  const char* complexity;
  const char* best_for;
  const char* params;  // the SQL arguments that shape it, with defaults
  const char* form;
  const char* paper;
  const char* sql;  // the SQL that runs it
};

const std::vector<RoutingMechanism>& routing_mechanisms();
// By the "router" value of ruvector_moe_route's params (topk, switch).
const RoutingMechanism* find_router(std::string_view router);

// The default gate when no model is given: documented in the README.
inline constexpr uint64_t kDefaultGateSeed = 0x52564A4D4F45ull;  // "RVJMOE"

}  // namespace rvj::ir
