// A derivative whose sign holds only for some parameter values: z0 = a * x0
// with a learnable, unconstrained a is increasing while a > 0 and not a
// bijection at a = 0; x0 + a * tanh(x0) is increasing while a > -1.
// Interval arithmetic over all parameter values cannot prove it; holding
// the declared parameters (a map's, an elementwise transform's) to a range
// around their initial values can, and the trainer then keeps them there
// (ParamTensor::keep_lo, keep_hi).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Graph.hpp"

namespace nfc {

struct KeptRange {
  int tensor = -1;
  double lo = -INFINITY, hi = INFINITY;  // open ends
};

struct RangedProof {
  Monotonicity verdict = Monotonicity::unproved;
  std::vector<KeptRange> kept;  // the parameters the proof needs, each in its range
};

// The verdict for `d` with `leaves` bounded as given and the declared,
// unconstrained parameters it reads held in ranges around their initial
// values: each range as wide as the proof allows (ℝ, or an end found by
// bisection and moved outward to 0 or to a short number where that still
// proves it), one parameter at a time; those
// the proof does not need are then freed. Unproved if even the initial
// values do not prove it.
RangedProof prove_keeping_ranges(const Graph& g, NodeId d,
                                 std::unordered_map<NodeId, Interval> leaves);

// Marks the tensors the proof needs as kept in their ranges, for `what`
// ("layer 0 z0"), and returns the condition as --explain prints it:
// "while 'layer0.a' is positive (training keeps it so)".
std::string keep_ranges(Graph& g, const RangedProof& proof, const std::string& what);

}  // namespace nfc
