// The loop bodies of the two ops that evaluate a subgraph repeatedly
// (Ops.def: solve, made_sequence): which nodes run inside the loop and
// which values they read from outside it. Every evaluator (interpreter,
// LLVM backend, C++ backend) takes them from here, so the three agree on
// what a body is and check it once.
#pragma once

#include <vector>

#include "compiler/ir/Graph.hpp"

namespace nfc {

// A loop body: `nodes` run per iteration, operands first; each is an
// elementwise op or a broadcast. `reads` are the values from outside the
// loop that the body (or its results) use.
struct LoopBody {
  std::vector<NodeId> nodes;
  std::vector<NodeId> reads;
};

// A solve node's body: the nodes of f and dfdx that depend on its var x.
// `f_nodes` is the part f alone needs (bracketing evaluates f only). The
// reads are x-free: the solve's operands, constants or parameters (f or
// dfdx themselves if they do not depend on x). Throws InternalError when
// the subgraph breaks these rules.
struct SolveBody : LoopBody {
  NodeId target = -1, f = -1, dfdx = -1, x = -1;
  std::vector<NodeId> f_nodes;
};
SolveBody solve_body(const Graph& g, NodeId solve);

// A made_sequence's per-position step (MadeSequence::step): the nodes above
// its placeholders (the raw outputs and the target, vars bound per
// position); the reads are the constants and parameters they use.
LoopBody made_sequence_step(const Graph& g, const MadeSequence& s);

}  // namespace nfc
