// The rational-quadratic spline transformer (Durkan et al. 2019, "Neural
// Spline Flows"), built as graph expressions: a monotone piecewise
// rational-quadratic map on [-B, B] with the identity (linear tails)
// outside, written once over placeholders like a `.nf` transform, so layers
// substitute vectors for them and every pass (derivative, gradient, both
// backends) sees ordinary nodes.
#pragma once

#include "compiler/layers/TransformRules.hpp"
#include "compiler/sema/FlowSpec.hpp"

namespace nfc {

// z = spline(x; uw_0..uw_{K-1}, uh_0..uh_{K-1}, ud_0..ud_{K-2}), nflows'
// `unconstrained_rational_quadratic_spline` with tails="linear":
//   widths  = min_width  + (1 - min_width K)  softmax(uw), knots
//             x_0 = -B, x_k = 2B (w_0 + .. + w_{k-1}) - B, x_K = B
//             (bin widths are knot differences); heights likewise from uh;
//   derivatives at the knots: 1 at x_0 and x_K, min_derivative +
//             softplus(ud_{k-1}) at x_k.
// The bin is the last k with x_k <= x (nflows' searchsorted); its quantities
// are selected first and the formula is evaluated once, on x clamped to
// [-B, B], so no lane computes with values outside the spline's domain. The
// inverse is the stable root 2c / (-b - sqrt(b^2 - 4ac)) of the bin's
// quadratic. Parameters are in that order in `params`.
TransformRules spline_rules(Graph& g, const SplineSpec& spec);

// The number of conditioner outputs per transformed value: 3 bins - 1.
inline int spline_param_count(const SplineSpec& spec) {
  return 3 * spec.bins - 1;
}

}  // namespace nfc
