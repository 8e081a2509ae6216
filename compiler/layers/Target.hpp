// A target's log-density log p~(x) as graph: its tables become data tensors
// (ParamTensor::data) holding the values the driver read, its parameters
// learnable tensors `target.NAME`, and its lets and `logp` are lowered with
// every expression's length checked (a value per row of a table, per
// element of x, or a single number).
#pragma once

#include <optional>
#include <vector>

#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Graph.hpp"
#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

struct TargetDensity {
  NodeId logp = -1;  // log p~ at x, a length-1 node
  // Where logp is defined, per x_k (an open interval; all of ℝ where
  // nothing restricts it or the domain is no box nfc can state).
  std::vector<Interval> domain;
};

// log p~ at the vector `x` (length `dim`); nullopt after reporting a shape
// error to `diags`. Warns for each x_j logp does not depend on. The tables'
// values must be filled in.
std::optional<TargetDensity> build_target_density(Graph& g, const TargetSpec& t, NodeId x, int dim,
                                                  Diagnostics& diags);

}  // namespace nfc
