// Every limit of ruvector_jit in one place: vector and head sizes, sequence
// lengths and parameter ranges, the schedules' memory caps. Parameter specs,
// the schedules, the SQL layer and the docs read these names; no other file
// repeats the numbers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvj::ir {

// Dimensions of one vector (pgvector's limit).
inline constexpr int kMaxDims = 16000;
// Heads of a sequence call: each has at least one dimension.
inline constexpr int kMaxHeads = kMaxDims;
// Rows of one array argument, and every position-like parameter (window,
// stride, global tokens, ...): positions stay far from int overflow, and
// products of two of them are computed in 64 bits.
inline constexpr int kMaxLength = 1 << 30;
// Keys per flash tile (block_size).
inline constexpr int kMaxBlockSize = 4096;
// BigBird's random key blocks per query block.
inline constexpr int kMaxRandomBlocks = 64;
// FAVOR+ random features.
inline constexpr int kMaxFeatures = 65536;
// Seeds are whole numbers a double holds exactly.
inline constexpr double kMaxSeed = 9007199254740992.0;  // 2^53
// Working memory one thread of a schedule may use for one step (a query
// block's states, a query's logits, a linear state).
inline constexpr size_t kStepMemoryLimit = size_t{64} << 20;
// Threads one call may use (the ruvector_jit.max_threads range).
inline constexpr int kMaxThreads = 64;
// Multiply-adds (or per-row kernel calls weighted as such) one thread does in
// one schedule step: a few to ten milliseconds, between interrupt checks.
inline constexpr int64_t kStepWork = int64_t{1} << 24;
// Head dimensions past which generated kernels loop over blocks of the head
// instead of unrolling it whole: compile time stays bounded.
inline constexpr int kMaxUnrolledHeadDim = 1024;

}  // namespace rvj::ir
