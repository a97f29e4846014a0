// Kernel schedules per target, without LLVM (schedule.cpp): what the
// runtime needs to lay out a tile kernel's buffers, and explain's text.
#pragma once

#include <string>

#include "codegen/isa.h"
#include "ir/ir.h"

namespace rvj::codegen {

// Register blocking per target: accumulators take half the register file,
// the rest holds the loaded operands.
struct Blocking {
  int lanes;          // f32 lanes per vector
  int query_vectors;  // vectors of queries per tile (queries = lanes * this)
  int key_group;      // keys scored at once in phase 1
  int query_group;    // queries whose P.V rows are accumulated at once
  int value_vectors;  // value vectors accumulated at once per query
};
Blocking blocking(const ir::Function& fn, const Target& t);

// A panel kernel's register blocks (lower_panel.cpp): `rows` rows x up to
// `vectors` vectors of columns (each column vector one load, each row
// element one broadcast), then the rows past the last multiple of `rows`
// one at a time over up to `row_vectors` vectors. Every product is one
// chain, so the blocking changes no bits.
struct PanelBlocking {
  int lanes, rows, vectors, row_vectors;
};
PanelBlocking panel_blocking(const Target& t);
// Elements of a chain run per pass over a register block: the panels of a
// block stay in L1 between passes (the partial sums wait in `out`, f32, so
// the pause changes no bits).
inline constexpr int kPanelChunk = 96;

// The buffer layout of a tile kernel on `target`.
ir::TileShape tile_shape(const ir::Function& fn, const Target& target);

// One line on how a kernel's reductions (or tiles) are laid out on `target`.
std::string describe_schedule(const ir::Function& fn, const Target& target);
std::string describe_tile(const ir::Function& fn, const Target& target);
std::string describe_panel(const Target& target);
std::string describe_features(const ir::Function& fn, const Target& target);

}  // namespace rvj::codegen
