// Where the intermediate values of one entry point live during one block of
// samples. A backend evaluates nodes in topological order; a node that needs
// memory gets `len` consecutive slots of a scratch area (a slot holds one
// element for all samples of the block). A node's slots are reused once its
// last user has been evaluated, so scratch grows with the widest layer, not
// with the depth of the flow. LLVM-free: the C++ source backend can share it.
//
// A backend may also ask for fused loops, and for segments (below): consecutive nodes of the order
// that each loop over the same number of elements (elementwise ops, and
// gathers from memory) are evaluated in one loop, all of them at element k
// before k + 1. One loop instead of one per node: LLVM's loop passes cost
// per loop (IndVarSimplify and GVN took 65% of O2 for a 30-D NSF with 4,000
// of them), and a value used only inside its loop needs no memory at all.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "compiler/ir/Program.hpp"

namespace nfc {

// Both code generators unroll what is at most this long and loop over the
// rest: the LLVM backend keeps nodes of at most kUnrollMax elements in
// registers (straight-line code for small flows), the C++ backend writes
// gathers and scatters of at most kUnrollMax indices inline instead of
// indexing a static table.
constexpr int kUnrollMax = 8;

// Constants, parameters and broadcasts have no code of their own: a backend
// reads them where they are used, at any index.
inline bool codeless(Op op) {
  return op == Op::constant || op == Op::param || op == Op::broadcast;
}

struct BufferPlan {
  std::vector<NodeId> order;    // evaluation order: operands before users
  std::vector<int64_t> offset;  // by NodeId: first slot, or -1 if no buffer
  int64_t slots = 0;            // scratch size in slots
  // By position in `order`: the entry's accumulations (indices into
  // entry.accumulations) whose operands are all ready once order[i] has been
  // evaluated. A backend accumulates them right there, before order[i + 1];
  // their operands stay live until then, and no longer.
  std::vector<std::vector<size_t>> accumulate_after;
  // With fusion, by position in `order`: the end (exclusive) of the fused
  // loop that starts there, or 0. Every node of a loop is an elementwise op
  // or a gather of the same length, more than 1, that needs a buffer by the
  // backend's rule (needs_buffer; a loop may then keep it in a register
  // after all, as below), but its first may be a head (PlanOptions::
  // heads_loop; a headed loop has no gather and at least one node more); an operand of that
  // length is either in the loop (read at k in the same iteration) or
  // addressable memory, and a gather's source is never in its own loop. A
  // node whose users are all in its loop, and that is neither an output nor
  // an accumulation's operand, has no buffer (offset -1): a backend keeps
  // its element k for the iteration. No accumulation falls inside a loop.
  std::vector<size_t> loop_end;
  // Segments: positions in `order` where each begins (the first is 0), cut
  // every PlanOptions::segment_nodes positions or so, never inside a fused
  // loop. A backend may emit each segment as a function of its own (LLVM's
  // passes cost more than linearly in a function's size); so a value one
  // segment computes and a later one reads (or an output) is given memory
  // even where needs_buffer says registers would do.
  std::vector<size_t> segment_start{0};
};

struct PlanOptions {
  bool fuse = false;         // plan fused loops (loop_end); else loop_end is all 0
  size_t segment_nodes = 0;  // cut the order into segments of about this many nodes (0: one)
  // With fuse: whether a node (not elementwise) may head the fused loop
  // after it: the backend produces its elements one at a time, each
  // complete before the next (a matvec's rows), and runs the loop's nodes
  // at k as element k is produced. The head is then part of its loop: a
  // head whose users are all in the loop needs no buffer. Null: none.
  std::function<bool(NodeId)> heads_loop = nullptr;
};

// Plans buffers for the nodes of `entry` (below its outputs and its
// accumulations) for which `needs_buffer` is true. Outputs stay live to the
// end; a node's slots never overlap its operands'.
BufferPlan plan_buffers(const Graph& g, const EntryPoint& entry,
                        const std::function<bool(NodeId)>& needs_buffer, PlanOptions options = {});

}  // namespace nfc
