// Graph family: the per-edge scores of PyG's attention layers, on the head
// slices of the projected features (the projections are the layer's; see
// runtime/graph_layer). One kernel per edge and head.
#include <cmath>

#include "ir/recipes/mechanisms.h"

namespace rvj::ir {

// GATConv (Velickovic et al. 2018; PyG): e_ij = LeakyReLU(a_src . W x_j +
// a_dst . W x_i). Inputs: the source's and the target's projected head
// slice, then a_src and a_dst of the head. f64 sums.
Function build_gat(int dims) {
  Builder b("gat", dims);
  int xj = b.input(), xi = b.input(), att_src = b.input(), att_dst = b.input(), slope = b.param();
  int s = b.dot(att_src, xj, Precision::F64);
  int d = b.dot(att_dst, xi, Precision::F64);
  b.output(b.leaky_relu(b.add(s, d), slope));
  return b.finish();
}

// GATConv with edge features (PyG's edge_dim): e_ij = LeakyReLU(a_src . W x_j
// + a_dst . W x_i + a_edge . W_e e_ij). Inputs: as gat's, then the edge's
// projected head slice and a_edge of the head.
Function build_gat_edge(int dims) {
  Builder b("gat_edge", dims);
  int xj = b.input(), xi = b.input(), att_src = b.input(), att_dst = b.input(), e = b.input(), att_edge = b.input();
  int slope = b.param();
  int s = b.dot(att_src, xj, Precision::F64);
  int d = b.dot(att_dst, xi, Precision::F64);
  int t = b.dot(att_edge, e, Precision::F64);
  int sd = b.add(s, d);
  b.output(b.leaky_relu(b.add(sd, t), slope));
  return b.finish();
}

// GATv2Conv (Brody et al. 2022; PyG): e_ij = a . LeakyReLU(W_l x_j + W_r x_i).
// Inputs: the source's W_l head slice, the target's W_r head slice, a of the
// head, and the slope as a vector (a sum reads no scalar, ir.h). f64.
Function build_gatv2(int dims) {
  Builder b("gatv2", dims);
  int xl = b.input(), xr = b.input(), att = b.input(), slope = b.input();
  int u = b.add_vec(xl, xr);
  int act = b.leaky_relu_vec(u, slope);
  b.output(b.sum(b.mul_vec(att, act)));
  return b.finish();
}

// TransformerConv (Shi et al. 2021; PyG): (q_i . k_j) / sqrt(C) on the
// head's projected query and key.
Function build_graph_transformer(int dims) {
  Builder b("graph_transformer", dims);
  int q = b.input(), k = b.input();
  int qk = b.dot(q, k, Precision::F64);
  int root = b.constant(std::sqrt(static_cast<double>(dims)));
  b.output(b.div(qk, root));
  return b.finish();
}

// AGNNConv (Thekumparampil et al. 2018; PyG): beta cos(x_i, x_j), with
// PyG's F.normalize (each norm floored at 1e-12).
Function build_agnn(int dims) {
  Builder b("agnn", dims);
  int xi = b.input(), xj = b.input(), beta = b.param();
  int dot = b.dot(xi, xj, Precision::F64);
  int ii = b.sq_norm(xi, Precision::F64);
  int jj = b.sq_norm(xj, Precision::F64);
  int floor = b.constant(1e-12);
  int ni = b.max(b.sqrt(ii), floor);
  int nj = b.max(b.sqrt(jj), floor);
  int cos = b.div(dot, b.mul(ni, nj));
  b.output(b.mul(beta, cos));
  return b.finish();
}

}  // namespace rvj::ir
