// The structural pass: which outputs of a layer depend on which inputs,
// read off the graph, and the proof that a layer is triangular.
#pragma once

#include <vector>

#include "compiler/ir/Graph.hpp"

namespace nfc {

// deps[j][i]: output element j of `output` depends on element i of `input`.
using DependencyMatrix = std::vector<std::vector<bool>>;

DependencyMatrix dependency_matrix(const Graph& g, NodeId output, NodeId input);

struct TriangularityFailure {
  enum class Kind { none, depends_on_later, no_diagonal };
  Kind kind = Kind::none;
  int output = -1;  // z[output] ...
  int input = -1;   // ... depends on x[input] (depends_on_later)
};

// Checks that under `order` (order[p] is the dimension at position p) every
// output depends only on inputs at its position or earlier, and on its own
// input. Reports the first offending pair in order.
TriangularityFailure check_triangular(const DependencyMatrix& deps, const std::vector<int>& order);

// True if deps is exactly the permutation z[i] = x[perm[i]].
bool is_permutation_of(const DependencyMatrix& deps, const std::vector<int>& perm);

}  // namespace nfc
