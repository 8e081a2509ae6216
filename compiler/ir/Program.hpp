// The lowered program the code generators consume: a graph plus the entry
// points to emit from it, with the ABI of abi/EntryPoints.hpp:
//
//   map:           void NAME(const T* params, const T* in, T* out_0, ..., T* out_k, int64_t n)
//   mean_gradient: T NAME(const T* params, const T* in, int64_t n, T* grad, void* work)
//
// The per-sample computation is the graph below `outputs`, with the node
// `input` bound to one row of `in`.
#pragma once

#include <string>
#include <vector>

#include "abi/EntryPoints.hpp"
#include "compiler/ir/Graph.hpp"

namespace nfc {

enum class EntryKind {
  map,            // per-sample outputs
  mean_gradient,  // a batch mean of a loss and of its parameter gradient, below
};

// One term of a parameter gradient, summed over the samples of a batch:
//   value:  grad[offset + k] += value[k]            for k < len(value)
//   outer:  grad[offset + r * stride + c] += outer_a[r] * outer_b[c]
//           with rows = len(outer_a), cols = len(outer_b), stride 0 meaning
//           cols, and only for c < row_lengths[r] if row_lengths is given
// (exactly one of value / outer_a+outer_b is set). Outer products are the
// weight gradients of matvec (over its MatrixView); they are never
// materialised per sample.
struct Accumulation {
  int64_t offset = 0;
  NodeId value = -1;
  NodeId outer_a = -1, outer_b = -1;
  int stride = 0;
  std::vector<int> row_lengths;
};

// A mean_gradient entry point (`work`: scratch of the size the backend
// reports, JitModule::workspace_bytes) returns (1/n) sum_i outputs[0](in_i) (outputs[0] has length
// 1) and overwrites grad[0, graph.param_count()) with (1/n) sum_i of every accumulation at sample i
// (zero where none applies). Lanes past n contribute nothing; n == 0 returns 0 with grad zeroed.
struct EntryPoint {
  EntryPoint() = default;
  EntryPoint(std::string name_, NodeId input_, std::vector<NodeId> outputs_,
             EntryKind kind_ = EntryKind::map, std::vector<Accumulation> accumulations_ = {})
      : name(std::move(name_)),
        input(input_),
        outputs(std::move(outputs_)),
        kind(kind_),
        accumulations(std::move(accumulations_)) {}

  std::string name;
  NodeId input = -1;
  std::vector<NodeId> outputs;
  EntryKind kind = EntryKind::map;
  std::vector<Accumulation> accumulations;  // mean_gradient only
};

struct Program {
  const Graph* graph = nullptr;
  std::vector<EntryPoint> entries;
};

// Nodes reachable from `roots`, operands before users.
std::vector<NodeId> topological_order(const Graph& g, const std::vector<NodeId>& roots);

}  // namespace nfc
