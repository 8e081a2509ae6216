// The lowered program both backends consume: a graph plus the entry points
// to emit from it. Each entry point is a function over a row-major batch:
//
//   void NAME(const T* params, const T* in, T* out_0, ..., T* out_k, int64_t n)
//
// `in` is [n, len(input)], out_i is [n, len(outputs[i])]; `params` is the
// flat parameter buffer laid out by the graph's ParamTensor table. The
// per-sample computation is the graph below `outputs`, with the node `input`
// bound to one row of `in`.
#pragma once

#include <string>
#include <vector>

#include "compiler/Graph.hpp"

namespace nfc {

struct EntryPoint {
  std::string name;
  NodeId input = -1;
  std::vector<NodeId> outputs;
};

struct Program {
  const Graph* graph = nullptr;
  std::vector<EntryPoint> entries;
};

// Nodes reachable from `roots`, operands before users.
std::vector<NodeId> topological_order(const Graph& g, const std::vector<NodeId>& roots);

}  // namespace nfc
