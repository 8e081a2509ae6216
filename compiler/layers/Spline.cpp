// The rational-quadratic spline's rules: knots from unconstrained parameters,
// the bin search as selects, and the formulas of nflows'
// rational_quadratic_spline (forward, log-derivative, inverse) evaluated once
// on the selected bin's quantities.
#include "compiler/layers/Spline.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "compiler/analysis/Derive.hpp"
#include "compiler/layers/LowerExpr.hpp"

namespace nfc {

namespace {

// K + 1 knots on [-B, B] from K unconstrained bin sizes: a softmax with the
// maximum subtracted (outputs of +-1e4 neither overflow nor give 0/0), each
// share at least `min_size`, summed in order; the first and last knots are
// exactly -B and B.
std::vector<Ex> knots(Graph& g, const std::vector<NodeId>& raw, double min_size, double bound) {
  NodeId top = raw[0];
  for (size_t k = 1; k < raw.size(); ++k) top = max_of(g, top, raw[k]);
  std::vector<Ex> e;
  Ex total{&g, g.constant(0)};
  for (NodeId r : raw) {
    e.push_back(apply(Op::exp, Ex{&g, r} - Ex{&g, top}));
    total = total + e.back();
  }
  const double share = 1 - min_size * static_cast<double>(raw.size());
  std::vector<Ex> out{Ex{&g, g.constant(-bound)}};
  Ex cum{&g, g.constant(0)};
  for (size_t k = 0; k + 1 < raw.size(); ++k) {
    cum = cum + (min_size + share * (e[k] / total));
    out.push_back((2 * bound) * cum - bound);
  }
  out.push_back(Ex{&g, g.constant(bound)});
  return out;
}

// Knot positions in x and y and the derivatives at the knots.
struct Grid {
  std::vector<Ex> xs, ys, ds;
};

// The quantities of one bin: left knot, width, bottom, height, and the
// derivatives at its left and right ends.
struct Bin {
  Ex x, w, y, h, d, d1;
};

// per_bin[k] for the bin k that holds `at`: the last k with search[k] <= at,
// as a chain of selects (nflows' searchsorted; `at` lies in [-B, B]).
Ex in_bin(Graph& g, const std::vector<Ex>& search, Ex at, const std::vector<Ex>& per_bin) {
  Ex v = per_bin[0];
  for (size_t k = 1; k < per_bin.size(); ++k)  // search[k] > at: the bin is below k
    v = Ex{&g, g.select_pos((search[k] - at).id, v.id, per_bin[k].id)};
  return v;
}

Bin bin_at(Graph& g, const Grid& grid, const std::vector<Ex>& search, Ex at) {
  const size_t bins = grid.xs.size() - 1;
  auto pick = [&](auto of_bin) {
    std::vector<Ex> v;
    for (size_t k = 0; k < bins; ++k) v.push_back(of_bin(k));
    return in_bin(g, search, at, v);
  };
  return Bin{pick([&](size_t k) { return grid.xs[k]; }),
             pick([&](size_t k) { return grid.xs[k + 1] - grid.xs[k]; }),
             pick([&](size_t k) { return grid.ys[k]; }),
             pick([&](size_t k) { return grid.ys[k + 1] - grid.ys[k]; }),
             pick([&](size_t k) { return grid.ds[k]; }),
             pick([&](size_t k) { return grid.ds[k + 1]; })};
}

// v clamped to [-B, B]: the spline formulas only ever see their domain.
Ex clamp(Graph& g, Ex v, double bound) {
  return {&g, min_of(g, max_of(g, v.id, g.constant(-bound)), g.constant(bound))};
}

// `tail` where |v| > B, `inside` on [-B, B].
Ex tails(Graph& g, Ex v, double bound, Ex tail, Ex inside) {
  return {&g, g.select_pos((apply(Op::abs, v) - bound).id, tail.id, inside.id)};
}

// z and log dz/dx in a bin, for x in it (nflows' forward formulas).
std::pair<Ex, Ex> rq_forward(const Bin& b, Ex x) {
  const Ex delta = b.h / b.w;
  const Ex theta = (x - b.x) / b.w;
  const Ex t1t = theta * (1.0 - theta);
  const Ex numerator = b.h * (delta * (theta * theta) + b.d * t1t);
  const Ex denominator = delta + (b.d + b.d1 - 2.0 * delta) * t1t;
  const Ex one_minus = 1.0 - theta;
  const Ex dnum = (delta * delta) *
                  (b.d1 * (theta * theta) + 2.0 * delta * t1t + b.d * (one_minus * one_minus));
  return {b.y + numerator / denominator, apply(Op::log, dnum) - 2.0 * apply(Op::log, denominator)};
}

// x for z in a bin: the root in [0, 1] of a theta^2 + b theta + c = 0 in the
// form that does not cancel, 2c / (-b - sqrt(b^2 - 4ac)). The discriminant
// is >= 0 in exact arithmetic; rounding must not make its root NaN.
Ex rq_inverse(Graph& g, const Bin& bin, Ex z) {
  const Ex delta = bin.h / bin.w;
  const Ex dy = z - bin.y;
  const Ex slope = bin.d + bin.d1 - 2.0 * delta;
  const Ex a = dy * slope + bin.h * (delta - bin.d);
  const Ex b = bin.h * bin.d - dy * slope;
  const Ex c = -delta * dy;
  const Ex disc{&g, max_of(g, (b * b - 4.0 * a * c).id, g.constant(0))};
  const Ex root = (2.0 * c) / (-b - apply(Op::sqrt, disc));
  return root * bin.w + bin.x;
}

std::vector<NodeId> placeholders(Graph& g, const char* prefix, int n) {
  std::vector<NodeId> v;
  for (int i = 0; i < n; ++i) v.push_back(g.var(g.add_var_name(fmt::format("{}{}", prefix, i))));
  return v;
}

// Derivatives at the K + 1 knots: 1 at both ends (the tails' slope, so the
// map is C1 there), min_derivative + softplus(ud) inside.
std::vector<Ex> knot_derivatives(Graph& g, const std::vector<NodeId>& ud, double min_derivative) {
  std::vector<Ex> d{Ex{&g, g.constant(1)}};
  for (NodeId u : ud) d.push_back(min_derivative + apply(Op::softplus, Ex{&g, u}));
  d.push_back(Ex{&g, g.constant(1)});
  return d;
}

}  // namespace

TransformRules spline_rules(Graph& g, const SplineSpec& s) {
  TransformRules r;
  r.name = "spline";
  r.x = g.var(g.add_var_name("x"));
  r.z = g.var(g.add_var_name("z"));
  const std::vector<NodeId> uw = placeholders(g, "uw", s.bins);
  const std::vector<NodeId> uh = placeholders(g, "uh", s.bins);
  const std::vector<NodeId> ud = placeholders(g, "ud", s.bins - 1);
  for (const auto* group : {&uw, &uh, &ud})
    r.params.insert(r.params.end(), group->begin(), group->end());
  const Grid grid{knots(g, uw, s.min_width, s.bound), knots(g, uh, s.min_height, s.bound),
                  knot_derivatives(g, ud, s.min_derivative)};
  const Ex x{&g, r.x}, z{&g, r.z};
  const Ex xs = clamp(g, x, s.bound);
  const auto [value, logabs] = rq_forward(bin_at(g, grid, grid.xs, xs), xs);
  r.body = tails(g, x, s.bound, x, value).id;
  r.logabs = tails(g, x, s.bound, Ex{&g, g.constant(0)}, logabs).id;
  r.dzdx = derivative(g, r.body, r.x);
  const Ex zs = clamp(g, z, s.bound);
  r.inverse = tails(g, z, s.bound, z, rq_inverse(g, bin_at(g, grid, grid.ys, zs), zs)).id;
  r.monotone_by_construction = true;
  r.summary = fmt::format(
      "rational-quadratic spline, {} bins on [-{}, {}]: the bin's quadratic root "
      "2c / (-b - sqrt(b^2 - 4ac)); identity outside",
      s.bins, s.bound, s.bound);
  return r;
}

}  // namespace nfc
