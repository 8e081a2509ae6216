// A derivative whose sign holds only for some parameter values: z0 = a * x0
// with a learnable, unconstrained a is increasing while a > 0 and not a
// bijection at a = 0. Interval arithmetic over all parameter values cannot
// prove it; holding the declared parameters (a map's, an elementwise
// transform's) to the sign of their initial values can, and the trainer
// then keeps them there (ParamTensor::keep_sign).
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Graph.hpp"

namespace nfc {

struct SignedProof {
  Monotonicity verdict = Monotonicity::unproved;
  std::vector<std::pair<int, int>> kept;  // (parameter tensor, sign) the proof needs
};

// The verdict for `d` with `leaves` bounded as given and the fewest
// declared parameters (found greedily) held to their initial sign; a
// parameter whose initial values are 0 or of both signs is never held.
SignedProof prove_keeping_signs(const Graph& g, NodeId d,
                                std::unordered_map<NodeId, Interval> leaves);

// Marks the tensors the proof needs as kept at their sign, for `what` ("layer
// 0 z0"), and returns the condition as --explain prints it: "while
// 'layer0.a' > 0 (training keeps it so)".
std::string keep_signs(Graph& g, const SignedProof& proof, const std::string& what);

}  // namespace nfc
