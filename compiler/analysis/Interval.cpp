// Interval rules, one per op. Each is a sound over-approximation: the true
// range of the op over its operands' intervals lies inside the result.
#include "compiler/analysis/Interval.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "abi/Support.hpp"
#include "compiler/ir/Program.hpp"

namespace nfc {

namespace {

// An endpoint value and whether it is attained.
struct End {
  double v;
  bool open;
};

Interval from_ends(End a, End b) {
  Interval r;
  const End& lo = (a.v < b.v || (a.v == b.v && !a.open)) ? a : b;
  const End& hi = (a.v > b.v || (a.v == b.v && !a.open)) ? a : b;
  r.lo = lo.v;
  r.hi = hi.v;
  r.lo_open = lo.open || std::isinf(lo.v);
  r.hi_open = hi.open || std::isinf(hi.v);
  return r;
}

Interval hull(const Interval& a, const Interval& b) {
  Interval r;
  r.lo = std::min(a.lo, b.lo);
  r.hi = std::max(a.hi, b.hi);
  r.lo_open = (a.lo == r.lo ? a.lo_open : true) && (b.lo == r.lo ? b.lo_open : true);
  r.hi_open = (a.hi == r.hi ? a.hi_open : true) && (b.hi == r.hi ? b.hi_open : true);
  return r;
}

// An increasing function f on a's domain maps endpoints to endpoints.
template <class F>
Interval increasing(const Interval& a, F f) {
  return from_ends({f(a.lo), a.lo_open}, {f(a.hi), a.hi_open});
}

// 0 * inf is 0 here: a zero factor makes the product zero whatever the other.
double times(double x, double y) {
  return (x == 0 || y == 0) ? 0.0 : x * y;
}

Interval multiply(const Interval& a, const Interval& b) {
  const End c[] = {{times(a.lo, b.lo), a.lo_open || b.lo_open},
                   {times(a.lo, b.hi), a.lo_open || b.hi_open},
                   {times(a.hi, b.lo), a.hi_open || b.lo_open},
                   {times(a.hi, b.hi), a.hi_open || b.hi_open}};
  Interval r = from_ends(c[0], c[1]);
  r = hull(r, from_ends(c[2], c[3]));
  return r;
}

Interval square(const Interval& a) {
  if (a.lo >= 0) return multiply(a, a);
  if (a.hi <= 0) return multiply(a, a);
  const double m = std::max(a.lo * a.lo, a.hi * a.hi);
  const bool open = (a.lo * a.lo >= a.hi * a.hi ? a.lo_open : a.hi_open);
  return {0, m, false, open || std::isinf(m)};
}

Interval reciprocal(const Interval& a) {
  if (a.positive() || a.negative())
    return from_ends({1 / a.hi, a.hi_open}, {1 / a.lo, a.lo_open});  // 1/inf = 0: a limit
  return Interval::all();
}

Interval negate(const Interval& a) {
  return {-a.hi, -a.lo, a.hi_open, a.lo_open};
}

Interval add(const Interval& a, const Interval& b) {
  return {a.lo + b.lo, a.hi + b.hi, a.lo_open || b.lo_open, a.hi_open || b.hi_open};
}

// log, sqrt, logit, atanh: increasing on their domains; outside it the
// result is NaN, which we do not enclose (the user's model is then invalid
// there anyway).
Interval on_domain(const Interval& a, double dlo, double dhi, double (*f)(double)) {
  Interval c = a;
  if (c.lo < dlo) c = {dlo, c.hi, false, c.hi_open};
  if (c.hi > dhi) c = {c.lo, dhi, c.lo_open, false};
  return increasing(c, f);
}

// sin(a + shift) (cos is sin shifted by pi/2): the values at the ends,
// widened to 1 (-1) where a peak (trough) lies inside. The ends count as
// attained and the search for extrema is widened by a few ulps: rounding
// may only make the enclosure larger.
Interval shifted_sine(const Interval& a, double shift) {
  constexpr double kTwoPi = 2 * M_PI;
  if (!std::isfinite(a.lo) || !std::isfinite(a.hi) || a.hi - a.lo >= kTwoPi)
    return {-1, 1, false, false};
  const double lo = a.lo + shift, hi = a.hi + shift;
  const double slack = 1e-12 * (1 + std::max(std::fabs(lo), std::fabs(hi)));
  // Whether some point + 2 pi k lies in [lo, hi].
  auto contains = [&](double point) {
    const double k = std::ceil((lo - slack - point) / kTwoPi);
    return point + k * kTwoPi <= hi + slack;
  };
  const double at_lo = std::sin(lo), at_hi = std::sin(hi);
  return {contains(-M_PI / 2) ? -1 : std::min(at_lo, at_hi),
          contains(M_PI / 2) ? 1 : std::max(at_lo, at_hi), false, false};
}

// No `default:`: a new unary op in Ops.def must be taught here.
Interval unary_rule(Op op, const Interval& a) {
  switch (op) {
    case Op::neg:
      return negate(a);
    case Op::exp:
      return increasing(a, [](double v) { return std::exp(v); });
    case Op::expm1:
      return increasing(a, [](double v) { return std::expm1(v); });
    case Op::log:
      return on_domain(a, 0, INFINITY, [](double v) { return std::log(v); });
    case Op::log1p:
      return on_domain(a, -1, INFINITY, [](double v) { return std::log1p(v); });
    case Op::sqrt:
      return on_domain(a, 0, INFINITY, [](double v) { return std::sqrt(v); });
    case Op::logit:
      return on_domain(a, 0, 1, [](double v) { return std::log(v) - std::log1p(-v); });
    case Op::atanh:
      return on_domain(a, -1, 1, [](double v) { return std::atanh(v); });
    case Op::tanh:
      return increasing(a, [](double v) { return std::tanh(v); });
    case Op::sinh:
      return increasing(a, [](double v) { return std::sinh(v); });
    case Op::asinh:
      return increasing(a, [](double v) { return std::asinh(v); });
    case Op::erf:
      return increasing(a, [](double v) { return std::erf(v); });
    case Op::erfc:  // decreasing: erfc = 1 - erf
      return negate(increasing(a, [](double v) { return -std::erfc(v); }));
    case Op::atan:
      return increasing(a, [](double v) { return std::atan(v); });
    case Op::tan:  // on its principal branch, onto ℝ (tan(pi/2) in double is 1.6e16)
      return on_domain(a, -M_PI / 2, M_PI / 2, [](double v) {
        return std::fabs(v) >= M_PI / 2 ? std::copysign(INFINITY, v) : std::tan(v);
      });
    case Op::erfinv:
      return on_domain(a, -1, 1, [](double v) {
        return std::fabs(v) >= 1 ? std::copysign(INFINITY, v) : eval_elementwise(Op::erfinv, v);
      });
    case Op::sign:  // increasing, not strictly: the ends attained
      return {eval_elementwise(Op::sign, a.lo), eval_elementwise(Op::sign, a.hi), false, false};
    case Op::cbrt:
      return increasing(a, [](double v) { return std::cbrt(v); });
    case Op::asin:
      return on_domain(a, -1, 1, [](double v) { return std::asin(v); });
    case Op::acos:  // decreasing: acos = pi/2 - asin
      return negate(on_domain(a, -1, 1, [](double v) { return -std::acos(v); }));
    case Op::acosh:
      return on_domain(a, 1, INFINITY, [](double v) { return std::acosh(v); });
    case Op::log2:
      return on_domain(a, 0, INFINITY, [](double v) { return std::log2(v); });
    case Op::sigmoid:
      return increasing(a, [](double v) { return eval_elementwise(Op::sigmoid, v); });
    case Op::softplus:
      return increasing(a, [](double v) { return eval_elementwise(Op::softplus, v); });
    case Op::relu:
      return increasing(a, [](double v) { return v > 0 ? v : 0.0; });
    case Op::elu:
      return increasing(a, [](double v) { return v > 0 ? v : std::expm1(v); });
    case Op::abs:
    case Op::cosh: {  // even, increasing in |a|
      auto g = [op](double v) { return op == Op::abs ? std::fabs(v) : std::cosh(v); };
      if (a.lo >= 0) return increasing(a, g);
      if (a.hi <= 0) return from_ends({g(a.hi), a.hi_open}, {g(a.lo), a.lo_open});
      const bool lo_wider = -a.lo >= a.hi;
      return from_ends({g(0), false},
                       {g(lo_wider ? a.lo : a.hi), lo_wider ? a.lo_open : a.hi_open});
    }
    case Op::gelu:  // gelu >= -0.17 everywhere, <= max(0, x)
      return {-0.17, std::max(0.0, a.hi), false, a.hi_open};
    case Op::sin:
      return shifted_sine(a, 0);
    case Op::cos:  // cos x = sin(x + pi/2)
      return shifted_sine(a, M_PI / 2);
#define NFC_UNARY(o, spelling, formula)
#define NFC_BINARY(o, spelling, formula) case Op::o:
#define NFC_TERNARY(o, spelling, formula) case Op::o:
#define NFC_SPECIAL(o, spelling) case Op::o:
#include "compiler/ir/Ops.def"
      break;
  }
  return Interval::all();
}

Interval pow_rule(const Interval& a, const Interval& b) {
  if (!(b.lo == b.hi && !b.lo_open)) return Interval::all();
  const double k = b.lo;
  if (k == std::floor(k)) {
    if (std::fmod(k, 2) == 0 && k > 0) {  // even: a^k = (a^2)^(k/2) >= 0
      const Interval s = square(a);
      return increasing(s, [k](double v) { return std::pow(v, k / 2); });
    }
    if (k > 0) return increasing(a, [k](double v) { return std::pow(v, k); });  // odd
    return Interval::all();
  }
  if (a.lo < 0) return Interval::all();
  if (k > 0) return increasing(a, [k](double v) { return std::pow(v, k); });
  return Interval::all();
}

Interval rule(const Graph& g, NodeId id, const std::unordered_map<NodeId, Interval>& at) {
  const Node& n = g.node(id);
  auto arg = [&](size_t i) { return at.at(n.args[i]); };
  if (n.op == Op::constant) return Interval::point(n.value);
  switch (elementwise_arity(n.op)) {
    case 1:
      return unary_rule(n.op, arg(0));
    case 2:
      switch (n.op) {
        case Op::add:
          return add(arg(0), arg(1));
        case Op::sub:
          return add(arg(0), negate(arg(1)));
        case Op::mul:
          return n.args[0] == n.args[1] ? square(arg(0)) : multiply(arg(0), arg(1));
        case Op::div:
          return multiply(arg(0), reciprocal(arg(1)));
        case Op::pow:
          return pow_rule(arg(0), arg(1));
        default:
          return Interval::all();
      }
    case 3: {  // select_pos
      const Interval c = arg(0);
      if (c.positive()) return arg(1);
      if (c.hi <= 0) return arg(2);
      return hull(arg(1), arg(2));
    }
    default:
      break;
  }
  switch (n.op) {
    case Op::gather:
    case Op::broadcast:
      return arg(0);  // lanes of the source: within its enclosure
    case Op::concat: {
      Interval r = arg(0);
      for (size_t i = 1; i < n.args.size(); ++i) r = hull(r, arg(i));
      return r;
    }
    default:
      return Interval::all();  // inputs, vars, params, matvec, sums...
  }
}

}  // namespace

std::unordered_map<NodeId, Interval> enclose_all(
    const Graph& g, const std::vector<NodeId>& roots,
    const std::unordered_map<NodeId, Interval>& leaves) {
  std::unordered_map<NodeId, Interval> at;
  for (NodeId n : topological_order(g, roots)) {
    auto it = leaves.find(n);
    at[n] = it != leaves.end() ? it->second : rule(g, n, at);
  }
  return at;
}

Interval enclose(const Graph& g, NodeId id, const std::unordered_map<NodeId, Interval>& leaves) {
  return enclose_all(g, {id}, leaves).at(id);
}

Interval apply_unary(Op op, const Interval& a) {
  return unary_rule(op, a);
}

Interval intersect(const Interval& a, const Interval& b) {
  Interval r;
  r.lo = std::max(a.lo, b.lo);
  r.hi = std::min(a.hi, b.hi);
  r.lo_open = (a.lo == r.lo && a.lo_open) || (b.lo == r.lo && b.lo_open);
  r.hi_open = (a.hi == r.hi && a.hi_open) || (b.hi == r.hi && b.hi_open);
  return r;
}

std::string to_string(const Interval& v) {
  return interval_text(v.lo, v.hi, v.lo_open, v.hi_open);
}

Monotonicity monotonicity(const Graph& g, NodeId derivative,
                          const std::unordered_map<NodeId, Interval>& leaves) {
  if (g.is_constant(derivative, 0)) return Monotonicity::constant_zero;
  const Interval d = enclose(g, derivative, leaves);
  if (d.zero()) return Monotonicity::constant_zero;
  if (d.positive()) return Monotonicity::increasing;
  if (d.negative()) return Monotonicity::decreasing;
  return Monotonicity::unproved;
}

}  // namespace nfc
