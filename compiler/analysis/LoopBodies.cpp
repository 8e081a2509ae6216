#include "compiler/analysis/LoopBodies.hpp"

#include <algorithm>
#include <string>

#include "compiler/ir/Program.hpp"
#include "support/InternalError.hpp"

namespace nfc {

namespace {

bool runs_in_a_loop(Op op) {
  return is_elementwise(op) || op == Op::broadcast;
}

void add_read(std::vector<NodeId>& reads, NodeId a) {
  if (std::find(reads.begin(), reads.end(), a) == reads.end()) reads.push_back(a);
}

}  // namespace

SolveBody solve_body(const Graph& g, NodeId solve) {
  const Node& n = g.node(solve);
  internal_check(n.op == Op::solve && n.indices.size() == 3,
                 "solve_body: not a solve {f, dfdx, x}");
  SolveBody body;
  body.target = n.args[0];
  body.f = n.indices[0];
  body.dfdx = n.indices[1];
  body.x = n.indices[2];
  internal_check(g.node(body.x).op == Op::var && g.len(body.x) == 1,
                 "solve_body: solve's x is a var of length 1");
  std::vector<char> dep(g.size(), 0);
  auto x_dependent = [&](const std::vector<NodeId>& roots) {
    std::vector<NodeId> nodes;
    for (NodeId k : topological_order(g, roots)) {
      bool d = k == body.x;
      for (NodeId a : g.node(k).args) d = d || dep[static_cast<size_t>(a)];
      dep[static_cast<size_t>(k)] = d;
      if (d && k != body.x) nodes.push_back(k);
    }
    return nodes;
  };
  body.f_nodes = x_dependent({body.f});
  body.nodes = x_dependent({body.f, body.dfdx});
  auto use = [&](NodeId a) {
    if (dep[static_cast<size_t>(a)]) return;
    const Op op = g.node(a).op;
    internal_check(op == Op::constant || op == Op::param ||
                       std::find(n.args.begin(), n.args.end(), a) != n.args.end(),
                   "solve_body: solve reads an x-free node that is not among its operands");
    add_read(body.reads, a);
  };
  for (NodeId k : body.nodes) {
    const Op op = g.node(k).op;
    if (!runs_in_a_loop(op))
      throw InternalError(std::string("solve_body: solve's x-dependent subgraph has a '") +
                          op_spelling(op) + "' node; only elementwise ops are supported");
    for (NodeId a : g.node(k).args) use(a);
  }
  use(body.f);
  use(body.dfdx);
  return body;
}

LoopBody made_sequence_step(const Graph& g, const MadeSequence& s) {
  LoopBody body;
  for (NodeId j : topological_order(g, {s.step})) {
    const Op op = g.node(j).op;
    if (op == Op::var) continue;
    if (op == Op::constant || op == Op::param) {
      add_read(body.reads, j);
      continue;
    }
    if (!runs_in_a_loop(op))
      throw InternalError(std::string("made_sequence_step: the step has a '") + op_spelling(op) +
                          "' node; only elementwise ops are supported");
    body.nodes.push_back(j);
  }
  return body;
}

}  // namespace nfc
