// The registry of shipped kernels. Adding a mechanism means adding a recipe
// (its family's file) and one entry here; everything else reads this table.
#include "ir/recipes/mechanisms.h"

#include <cmath>
#include <cstdio>

#include "ir/errors.h"
#include "ir/recipes/models.h"
#include "ir/recipes/routing.h"

namespace rvj::ir {

namespace {
// Float32 sums below 2^-60 (or square roots of them below 2^-30) come from
// terms that may have underflowed.
constexpr double kTinySum = 8.673617379884035e-19, kTinyRoot = 9.313225746154785e-10;
bool tiny_result(const double* out) { return std::fabs(out[0]) < kTinySum; }
bool tiny_root(const double* out) { return out[0] < kTinyRoot; }
bool tiny_norms(const double* out) { return out[1] < kTinySum || out[2] < kTinySum; }
}  // namespace

const std::vector<Mechanism>& mechanisms() {
  static const std::vector<Mechanism> all = {
      {"scaled_dot", true, "dot-product", "O(d)",
       "ranking rows by attention weight (retrieval, RAG)", "q.k / sqrt(d)",
       "Vaswani et al. 2017, Attention Is All You Need", {"query", "key"}, {},
       build_scaled_dot, nullptr, nullptr, Scaling::Each, tiny_result},
      {"additive", true, "dot-product", "O(a*d) per pair; O(a) with both projections done",
       "learned relevance between vectors of different spaces (decoder state vs encoder rows)",
       "v . tanh(W_q q + W_k k)", "Bahdanau et al. 2015, Neural Machine Translation by Jointly Learning to Align",
       {"query projection", "key projection", "v"}, {}, build_additive, nullptr,
       "ruvector_additive_score(query, key, w_query, w_key, v) and "
       "ruvector_additive_attention(queries, keys, values, w_query, w_key, v, params)"},
      {"feature_dot", false, "linear", "O(F d_v) per row of a state product",
       "the linear schedule's state products (a panel kernel)", "phi(q) . phi(k)",
       "Katharopoulos et al. 2020, Transformers are RNNs", {"feature row", "feature row"}, {}, build_feature_dot,
       nullptr},
      {"alibi_score", false, "positional", "O(d)", "the alibi sequence mechanism",
       "q.k / sqrt(d) + slope * (j - i)", "Press et al. 2022, ALiBi", {"query", "key"},
       {internal_param("slope", "the head's ALiBi slope, set per head by the schedule", Field::Slope)},
       build_alibi_score, nullptr},
      {"cosine", true, "dot-product", "O(d)",
       "scale-invariant similarity, embeddings of varying norm", "tau * cos(q, k)",
       "Liu et al. 2022, Swin Transformer V2", {"query", "key"},
       {positive_param("tau", 1.0, "temperature multiplying the cosine")},
       build_cosine, check_cosine, nullptr, Scaling::Invariant, tiny_norms},
      {"poincare", true, "hyperbolic", "O(d)",
       "hierarchies embedded in the Poincare ball (taxonomies, trees)",
       "-beta * d_c(q, k) - gamma",
       "Gulcehre et al. 2019, Hyperbolic Attention Networks", {"query", "key"},
       {positive_param("c", 1.0, "curvature is -c", Field::Curvature),
        positive_param("beta", 1.0, "inverse temperature"),
        real_param("gamma", 0.0, "offset")},
       build_poincare, check_poincare},
      {"lorentz", true, "hyperbolic", "O(d)",
       "hierarchies in the hyperboloid model (numerically kinder far from the origin than the ball)",
       "-beta * sqrt(k) * arcosh(-<q,k>_L / k) - gamma",
       "Nickel & Kiela 2018, Lorentz model (geoopt Lorentz)", {"query", "key"},
       {positive_param("k", 1.0, "the hyperboloid <x,x>_L = -k (curvature -1/k)"),
        positive_param("beta", 1.0, "inverse temperature"),
        real_param("gamma", 0.0, "offset")},
       build_lorentz, check_lorentz},
      {"poincare_distance", false, "hyperbolic", "O(d)",
       "ruvector_hyperbolic_distance()", "d_c(x, y)",
       "Ganea et al. 2018, Hyperbolic Neural Networks (geoopt PoincareBall)", {"a", "b"},
       {positive_param("curvature", 1.0, "the ball has curvature -c")},
       build_poincare_distance, check_poincare},
      {"gat", true, "graph", "O(H*C*F) per node to project, O(C) per edge and head",
       "neighbours that matter to a node, with learned weights (PyG GATConv)",
       "softmax over j in N(i) + i of LeakyReLU(a_src . W x_j + a_dst . W x_i)",
       "Velickovic et al. 2018, Graph Attention Networks (PyG GATConv)",
       {"source head", "target head", "a_src", "a_dst"},
       {real_param("negative_slope", 0.2, "LeakyReLU's slope below 0 (the model's config)")}, build_gat, nullptr,
       "ruvector_gat_search(node_table, edge_table, query_node_id, model => a gat model) and "
       "ruvector_gat_forward(node_table, edge_table, model)"},
      {"gat_edge", true, "graph", "O(H*C*F) per node and O(H*C*F_e) per edge to project, O(C) per edge and head",
       "graphs whose edges carry features (bond types, relation weights, distances) (PyG GATConv with edge_dim)",
       "softmax over j in N(i) + i of LeakyReLU(a_src . W x_j + a_dst . W x_i + a_edge . W_e e_ij)",
       "Velickovic et al. 2018, Graph Attention Networks (PyG GATConv(edge_dim=...), self-loops' features the mean)",
       {"source head", "target head", "a_src", "a_dst", "edge head", "a_edge"},
       {real_param("negative_slope", 0.2, "LeakyReLU's slope below 0 (the model's config)")}, build_gat_edge, nullptr,
       "ruvector_gat_search(node_table, edge_table, query_node_id, model => a gat model with lin_edge) and "
       "ruvector_gat_forward(node_table, edge_table, model), edge features from edge_feature_column"},
      {"gatv2", true, "graph", "O(2*H*C*F) per node to project, O(C) per edge and head",
       "dynamic attention: the ranking of neighbours depends on the node (PyG GATv2Conv)",
       "softmax over j in N(i) + i of a . LeakyReLU(W_l x_j + W_r x_i)",
       "Brody et al. 2022, How Attentive are Graph Attention Networks? (PyG GATv2Conv)",
       {"source head", "target head", "a", "slope"}, {}, build_gatv2, nullptr,
       "ruvector_gat_search(node_table, edge_table, query_node_id, model => a gatv2 model) and "
       "ruvector_gat_forward(node_table, edge_table, model)"},
      {"graph_transformer", true, "graph", "O(3*H*C*F) per node to project, O(C) per edge and head",
       "learned query/key/value attention over a node's in-neighbours (PyG TransformerConv)",
       "softmax over j in N(i) of (W_q x_i + b_q) . (W_k x_j + b_k) / sqrt(C)",
       "Shi et al. 2021, Masked Label Prediction (PyG TransformerConv)", {"query head", "key head"}, {},
       build_graph_transformer, nullptr,
       "ruvector_gat_search(node_table, edge_table, query_node_id, model => a graph_transformer model) and "
       "ruvector_gat_forward(node_table, edge_table, model)"},
      {"agnn", true, "graph", "O(F) per edge",
       "attention by feature similarity with one learned temperature (PyG AGNNConv)",
       "softmax over j in N(i) + i of beta * cos(x_i, x_j)",
       "Thekumparampil et al. 2018, Attention-based Graph Neural Network (PyG AGNNConv)", {"target", "source"},
       {real_param("beta", 1.0, "the temperature (the model's beta)")}, build_agnn, nullptr,
       "ruvector_gat_search(node_table, edge_table, query_node_id, model => an agnn model) and "
       "ruvector_gat_forward(node_table, edge_table, model)"},
      {"lorentz_distance", false, "hyperbolic", "O(d)", "ruvector_lorentz_distance()",
       "(1/sqrt c) arcosh(-c <a,b>_L)",
       "Nickel & Kiela 2018, Lorentz model (geoopt Lorentz(k = 1/c).dist)", {"a", "b"},
       {positive_param("curvature", 1.0, "the hyperboloid <x,x>_L = -1/c has curvature -c")},
       build_lorentz_distance, check_lorentz},
      {"poincare_expmap0", false, "hyperbolic", "O(d)", "ruvector_poincare_expmap0()",
       "tanh(sqrt(c)|u|) u / (sqrt(c)|u|)",
       "Ganea et al. 2018, Hyperbolic Neural Networks (geoopt PoincareBall)", {"v"},
       {positive_param("curvature", 1.0, "the ball has curvature -c")},
       build_poincare_expmap0, nullptr},
      {"poincare_logmap0", false, "hyperbolic", "O(d)", "ruvector_poincare_logmap0()",
       "artanh(sqrt(c)|y|) y / (sqrt(c)|y|)",
       "Ganea et al. 2018, Hyperbolic Neural Networks (geoopt PoincareBall)", {"v"},
       {positive_param("curvature", 1.0, "the ball has curvature -c")},
       build_poincare_logmap0, check_poincare_points},
      {"poincare_mobius_add", false, "hyperbolic", "O(d)", "ruvector_poincare_mobius_add()",
       "((1 + 2c<x,y> + c|y|^2) x + (1 - c|x|^2) y) / (1 + 2c<x,y> + c^2|x|^2|y|^2)",
       "Ganea et al. 2018, Hyperbolic Neural Networks (geoopt PoincareBall)", {"a", "b"},
       {positive_param("curvature", 1.0, "the ball has curvature -c")},
       build_poincare_mobius_add, check_poincare_points},
      {"l2_distance", false, "distance", "O(d)", "the <-> operator", "||a - b||",
       "Euclidean distance", {"a", "b"}, {}, build_l2_distance, nullptr, nullptr, Scaling::Joint, tiny_root},
      {"negative_inner_product", false, "distance", "O(d)", "the <#> operator", "-(a.b)",
       "negative inner product", {"a", "b"}, {}, build_negative_inner_product, nullptr, nullptr, Scaling::Each,
       tiny_result},
      {"cosine_distance", false, "distance", "O(d)", "the <=> operator", "1 - cos(a, b)",
       "cosine distance", {"a", "b"}, {}, build_cosine_distance, nullptr, nullptr, Scaling::Invariant,
       tiny_norms},
      {"norm", false, "distance", "O(d)", "ruvector_norm()", "||a||",
       "Euclidean norm", {"a"}, {}, build_norm, nullptr},
  };
  return all;
}

const Mechanism* find_mechanism(std::string_view name) {
  for (const Mechanism& m : mechanisms())
    if (name == m.name) return &m;
  return nullptr;
}

void reject_own_functions(const Mechanism& m) {
  if (m.own_functions)
    throw Error(ErrorKind::Unsupported,
                std::string("attention type \"") + m.name + "\" takes learned weights, which this function has no argument for",
                std::string("Use ") + m.own_functions + ".");
}

std::string mechanism_names(bool attention_types_only) {
  std::string s;
  for (const Mechanism& m : mechanisms()) {
    // (types with their own functions are not valid where a name is asked for)
    if (attention_types_only && (!m.attention_type || m.own_functions)) continue;
    if (!s.empty()) s += ", ";
    s += m.name;
  }
  return s;
}

const std::vector<FunctionMechanism>& function_mechanisms() {
  static const std::vector<FunctionMechanism> all = {
      {"mixed_curvature", "product space", "O(d)",
       "data with flat, hierarchical and cyclic parts at once (one vector, three geometries)",
       "euclidean_dims, hyperbolic_dims (the rest spherical), hyperbolic_curvature=1, spherical_curvature=1, beta=1, "
       "gamma=0",
       "-beta * sqrt(d_E^2 + d_H^2 + d_S^2) - gamma: Euclidean, Poincare-ball (curvature -c_h) and great-circle "
       "(curvature c_s) distances of the three slices",
       "Gu et al. 2019, Learning Mixed-Curvature Representations in Product Spaces",
       "ruvector_mixed_curvature_score(query, key, euclidean_dims, hyperbolic_dims, ...)"},
  };
  return all;
}

std::string own_sql_form(std::string_view name) {
  for (const FunctionMechanism& f : function_mechanisms())
    if (name == f.name) return f.sql;
  for (const RoutingMechanism& r : routing_mechanisms())
    if (name == r.name) return r.sql;
  if (const ModelKind* k = find_model_kind(name); k && k->listing)
    return "ruvector_model_attention(model, queries, keys, values) with a " + std::string(k->name) + " model";
  return "";
}

const CatalogueEntry* catalogue_entry(std::string_view name) {
  // The product catalogue: every planned
  // mechanism and the SQL shape its result needs. Shipped ones are also in
  // mechanisms(); this table answers for the others.
  static const CatalogueEntry entries[] = {
      {"scaled_dot", nullptr},
      {"multi_head", nullptr},
      {"grouped_query", "a sequence form over arrays of vectors"},
      {"multi_query", "a sequence form over arrays of vectors"},
      {"flash_v2", nullptr},
      {"causal", "a sequence form over arrays of vectors"},
      {"additive", nullptr},
      {"cosine", nullptr},
      {"sigmoid", nullptr},
      {"alibi", "a sequence form (it depends on positions)"},
      {"rope", "a sequence form (it depends on positions)"},
      {"talking_heads", "a sequence form over arrays of vectors"},
      {"multi_head_latent", "a sequence form over arrays of vectors"},
      {"differential", "a sequence form over arrays of vectors"},
      {"sparsemax", "weights over a set of keys"},
      {"entmax15", "weights over a set of keys"},
      {"linear", nullptr},
      {"linear_causal", "a sequence form over arrays of vectors"},
      {"performer", nullptr},
      {"cosformer", "a sequence form (it depends on positions)"},
      {"retention", "a sequence form (it depends on positions)"},
      {"nystrom", "a sequence form over arrays of vectors"},
      {"sliding_window", "a sequence form (it depends on positions)"},
      {"dilated_window", "a sequence form (it depends on positions)"},
      {"longformer", "a sequence form (it depends on positions)"},
      {"strided", "a sequence form (it depends on positions)"},
      {"fixed_sparse", "a sequence form (it depends on positions)"},
      {"block_local", "a sequence form (it depends on positions)"},
      {"bigbird", "a sequence form (it depends on positions)"},
      {"topk_sparse", "weights over a set of keys"},
      {"cross", nullptr},
      {"gat", "a graph form over node and edge tables"},
      {"gatv2", "a graph form over node and edge tables"},
      {"graph_transformer", "a graph form over node and edge tables"},
      {"agnn", "a graph form over node and edge tables"},
      {"gat_edge", "a graph form over node and edge tables"},
      {"moe_topk", "a routing form over expert vectors"},
      {"switch", "a routing form over expert vectors"},
      {"expert_choice", "a routing form over a set of tokens"},
      {"poincare", nullptr},
      {"lorentz", nullptr},
      {"mixed_curvature", nullptr},
      {"sinkhorn", "a sequence form over arrays of vectors"},
  };
  for (const CatalogueEntry& e : entries)
    if (name == e.name) return &e;
  return nullptr;
}

bool tileable(const Mechanism& m) {
  // The program's structure does not depend on dims.
  return !m.check && tile_error(m.build(1)).empty();
}

}  // namespace rvj::ir
