#include "compiler/analysis/SignChange.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Program.hpp"

namespace nfc {
namespace {

// Values of x: dense near 0 where flows see most data, sparse far out (to
// 1e6: a fold at 200 is a fold); on
// a domain, those inside it plus 81 spanning it (a bounded one) and points
// approaching its finite ends.
std::vector<double> x_grid(const Interval& domain) {
  std::vector<double> xs;
  for (int k = -40; k <= 40; ++k) xs.push_back(k * 0.25);
  for (double v : {12.5, 15.0, 20.0, 30.0, 50.0, 100.0, 200.0, 500.0, 1e3, 1e4, 1e6}) {
    xs.push_back(v);
    xs.push_back(-v);
  }
  if (std::isfinite(domain.lo) && std::isfinite(domain.hi))
    for (int k = 1; k <= 81; ++k) xs.push_back(domain.lo + (domain.hi - domain.lo) * k / 82);
  for (double step : {1e-3, 1e-2, 0.1, 1.0, 10.0}) {
    if (std::isfinite(domain.lo)) xs.push_back(domain.lo + step);
    if (std::isfinite(domain.hi)) xs.push_back(domain.hi - step);
  }
  std::erase_if(xs, [&](double v) { return !domain.contains(Interval::point(v)); });
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  return xs;
}

// `v` if it lies in `domain`, else a point inside.
double inside(const Interval& domain, double v) {
  if (domain.contains(Interval::point(v))) return v;
  if (std::isfinite(domain.lo) && std::isfinite(domain.hi)) return 0.5 * (domain.lo + domain.hi);
  return std::isfinite(domain.lo) ? domain.lo + 1 : domain.hi - 1;
}

// The other vars all take one of these at a time: irregular, so a formula
// is unlikely to be special at all of them.
constexpr double kOtherValues[] = {0.0, 0.7, -1.3, 2.9};

// Parameters at their initial values: a point for a scalar, the hull of a
// vector's values, the initialisation range of a random one.
std::unordered_map<NodeId, Interval> parameter_leaves(const Graph& g, NodeId z, NodeId d) {
  std::unordered_map<NodeId, Interval> leaves;
  for (NodeId id : topological_order(g, {z, d})) {
    const Node& n = g.node(id);
    if (n.op != Op::param) continue;
    const ParamTensor& p = g.params()[size_t(n.index)];
    if (p.init.empty()) {
      leaves[id] = {-p.init_bound, p.init_bound, false, false};
      continue;
    }
    const auto [lo, hi] = std::minmax_element(p.init.begin(), p.init.end());
    leaves[id] = {*lo, *hi, false, false};
  }
  return leaves;
}

// Every node of `order` (a topological order, computed once for all
// points) at a point, in plain double arithmetic, from the point values of
// its leaves (the midpoints of `leaves`): NaN where a formula is undefined
// there (log of a negative, logit beyond 1). Interval rules cannot say so:
// they clip arguments to the domain. Nodes other than elementwise ones and
// leaves (a net's matvec) are taken as 0: only a formula's own domain is
// judged.
std::unordered_map<NodeId, double> point_values(
    const Graph& g, const std::vector<NodeId>& order,
    const std::unordered_map<NodeId, Interval>& leaves) {
  std::unordered_map<NodeId, double> v;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    if (const auto it = leaves.find(id); it != leaves.end()) {
      v[id] = 0.5 * (it->second.lo + it->second.hi);
    } else if (n.op == Op::constant) {
      v[id] = n.value;
    } else if (n.op == Op::gather || n.op == Op::broadcast) {
      v[id] = v.at(n.args[0]);
    } else if (elementwise_arity(n.op) > 0) {
      double a[3] = {0, 0, 0};
      for (size_t k = 0; k < n.args.size() && k < 3; ++k) a[k] = v.at(n.args[k]);
      v[id] = eval_elementwise(n.op, a[0], a[1], a[2]);
    } else {
      v[id] = 0;
    }
  }
  return v;
}

bool defined_at(const Graph& g, NodeId z, const std::vector<NodeId>& order,
                const std::unordered_map<NodeId, Interval>& leaves) {
  return !std::isnan(point_values(g, order, leaves).at(z));
}

// The domain `domains` gives var v, or all of ℝ.
Interval domain_of(const std::unordered_map<NodeId, Interval>& domains, NodeId v) {
  const auto it = domains.find(v);
  return it == domains.end() ? Interval::all() : it->second;
}

// "x1 = 0.7, x2 = -1.3": the other vars at their point values in `leaves`.
std::vector<std::string> others_at(const Graph& g, const std::vector<NodeId>& others,
                                   const std::unordered_map<NodeId, Interval>& leaves) {
  std::vector<std::string> out;
  for (NodeId o : others) {
    const Node& n = g.node(o);
    out.push_back(
        fmt::format("{} = {:.6g}", n.op == Op::var ? g.var_name(n.index) : "?", leaves.at(o).lo));
  }
  return out;
}

double midpoint(const Interval& v) {
  return v.lo == v.hi ? v.lo : 0.5 * (v.lo + v.hi);
}

// The ends of a search box for a var: its domain, or ±1e6.
Interval search_range(const Interval& domain) {
  return {std::max(domain.lo, -1e6), std::min(domain.hi, 1e6), true, true};
}

double center(const Interval& v) {
  return 0.5 * (v.lo + v.hi);
}

// Branch and bound, where the grid found no witness: boxes over (x, the
// other vars), best first by how far below (above) 0 the enclosure of d
// reaches, each split in half along its widest side; a box whose enclosure
// keeps the sign of the reference point cannot hold a witness and is
// dropped. It finds folds between or beyond the grid points (a bump at 150,
// a fold in x1 only where x0 is near 7). At the first box center of the
// other sign, a point of the reference sign with the same other values
// completes the witness. At most 3000 boxes, fewer for large formulas.
std::optional<SignWitness> search_boxes(const Graph& g, NodeId z, NodeId d,
                                        const std::vector<NodeId>& x,
                                        const std::vector<NodeId>& others,
                                        const std::unordered_map<NodeId, Interval>& domains) {
  if (x.empty()) return std::nullopt;
  std::unordered_map<NodeId, Interval> leaves = parameter_leaves(g, z, d);
  const std::vector<NodeId> z_order = topological_order(g, {z});
  std::vector<NodeId> dims = {x[0]};
  dims.insert(dims.end(), others.begin(), others.end());
  auto bind = [&](const std::vector<Interval>& box) {
    for (NodeId n : x) leaves[n] = box[0];
    for (size_t k = 1; k < dims.size(); ++k) leaves[dims[k]] = box[k];
  };
  auto signed_at = [&](const std::vector<double>& p) -> std::optional<Interval> {
    std::vector<Interval> box;
    for (double v : p) box.push_back(Interval::point(v));
    bind(box);
    if (!defined_at(g, z, z_order, leaves)) return std::nullopt;
    const Interval v = enclose(g, d, leaves);
    if (!v.positive() && !v.negative()) return std::nullopt;
    return v;
  };
  // The reference sign: d at the center of the search.
  std::vector<Interval> root;
  std::vector<double> middle;
  for (NodeId v : dims) {
    root.push_back(search_range(domain_of(domains, v)));
    middle.push_back(inside(domain_of(domains, v), 0));
  }
  const std::optional<Interval> reference = signed_at(middle);
  if (!reference) return std::nullopt;
  const bool positive = reference->positive();
  struct Box {
    std::vector<Interval> sides;
    double reach;  // how far the enclosure reaches to the other sign
  };
  auto cmp = [](const Box& a, const Box& b) { return a.reach < b.reach; };
  std::priority_queue<Box, std::vector<Box>, decltype(cmp)> queue(cmp);
  auto consider = [&](std::vector<Interval> sides) {
    bind(sides);
    const Interval v = enclose(g, d, leaves);
    const double reach = positive ? -v.lo : v.hi;
    if (!(reach > 0) && !std::isnan(reach)) return;  // keeps the sign: no witness inside
    // Nearer the origin first where reaches are alike: data live there, and
    // a witness there reads better.
    double distance = 0;
    for (const Interval& side : sides)
      distance += side.lo > 0 ? side.lo : side.hi < 0 ? -side.hi : 0.0;
    queue.push({std::move(sides),
                (std::isnan(reach) ? 0.0 : std::min(reach, 1e300)) / (1 + 0.01 * distance)});
  };
  consider(root);
  // Each box costs an enclosure of d and of z (and the witness a few more):
  // about 3e6 node visits in all, so a formula of 20000 nodes (a chain of
  // 3000 lets) is searched less but checked in a second, not minutes.
  const size_t nodes = topological_order(g, {z, d}).size();
  const int boxes = int(std::clamp<size_t>(3'000'000 / std::max<size_t>(nodes, 1), 20, 3000));
  for (int budget = boxes; budget > 0 && !queue.empty(); --budget) {
    Box box = queue.top();
    queue.pop();
    std::vector<double> c;
    for (const Interval& side : box.sides) c.push_back(center(side));
    if (const auto v = signed_at(c); v && v->positive() != positive) {
      // A point of the reference sign at the same other values: on the
      // grid, nearest first.
      std::vector<double> xs = x_grid(domain_of(domains, x[0]));
      std::sort(xs.begin(), xs.end(),
                [&](double a, double b) { return std::fabs(a - c[0]) < std::fabs(b - c[0]); });
      for (double other_x : xs) {
        std::vector<double> p = c;
        p[0] = other_x;
        const auto u = signed_at(p);
        if (!u || u->positive() != positive) continue;
        const bool before = other_x < c[0];
        SignWitness w{false,
                      before ? other_x : c[0],
                      before ? c[0] : other_x,
                      before ? midpoint(*u) : midpoint(*v),
                      before ? midpoint(*v) : midpoint(*u),
                      {},
                      !parameter_leaves(g, d, d).empty()};
        w.others = others_at(g, others, leaves);  // leaves hold p: the others at c
        return w;
      }
      return std::nullopt;
    }
    // Split the widest side (relative to its magnitude, so a side of
    // [0, 1e6] and one of [-1, 1] both get their turn).
    size_t widest = 0;
    double width = -1;
    for (size_t k = 0; k < box.sides.size(); ++k) {
      const Interval& side = box.sides[k];
      const double w = (side.hi - side.lo) / (1 + std::min(std::fabs(side.lo), std::fabs(side.hi)));
      if (w > width) {
        width = w;
        widest = k;
      }
    }
    if (width < 1e-9) continue;
    std::vector<Interval> left = box.sides, right = box.sides;
    const double mid = center(box.sides[widest]);
    left[widest] = {box.sides[widest].lo, mid, box.sides[widest].lo_open, false};
    right[widest] = {mid, box.sides[widest].hi, false, box.sides[widest].hi_open};
    consider(std::move(left));
    consider(std::move(right));
  }
  return std::nullopt;
}

}  // namespace

std::string not_monotone_message(const SignWitness& w, const std::string& z, const std::string& x,
                                 const std::string& derivative) {
  std::vector<std::string> where = w.others;
  if (w.at_initial_parameters) where.push_back("parameters at their initial values");
  const std::string context = where.empty() ? "" : fmt::format(" ({})", fmt::join(where, ", "));
  if (w.flat)
    return fmt::format("{} is constant in {} between {} = {:g} and {:g}{} ({} = 0)", z, x, x, w.x_a,
                       w.x_b, context, derivative);
  return fmt::format(
      "{} is not monotone in {}: {} = {:+.2g} at {} = {:.10g}, {:+.2g} at {} = {:.10g}{}", z, x,
      derivative, w.d_a, x, w.x_a, w.d_b, x, w.x_b, context);
}

std::vector<NodeId> vars_of(const Graph& g, NodeId d) {
  std::vector<NodeId> vars;
  for (NodeId id : topological_order(g, {d}))
    if (g.node(id).op == Op::var) vars.push_back(id);
  return vars;
}

std::optional<SignWitness> find_sign_change(const Graph& g, NodeId z, NodeId d,
                                            const std::vector<NodeId>& x,
                                            const std::vector<NodeId>& others, bool report_flat,
                                            const std::unordered_map<NodeId, Interval>& domains) {
  std::unordered_map<NodeId, Interval> leaves = parameter_leaves(g, z, d);
  const bool reads_parameters = !parameter_leaves(g, d, d).empty();
  const std::vector<NodeId> z_order = topological_order(g, {z});
  const std::vector<double> xs = x_grid(x.empty() ? Interval::all() : domain_of(domains, x[0]));
  for (double other : kOtherValues) {
    if (others.empty() && other != kOtherValues[0]) break;  // nothing else to vary
    for (NodeId o : others) leaves[o] = Interval::point(inside(domain_of(domains, o), other));
    // The first sign change between neighbours (skipping undecided points),
    // so the witness brackets a zero of d.
    std::optional<size_t> last_signed, change, zero_run;
    std::vector<Interval> at(xs.size());
    for (size_t i = 0; i < xs.size() && !change; ++i) {
      for (NodeId v : x) leaves[v] = Interval::point(xs[i]);
      at[i] = defined_at(g, z, z_order, leaves) ? enclose(g, d, leaves) : Interval::all();
      const Interval& v = at[i];
      if (v.positive() || v.negative()) {
        if (last_signed && at[*last_signed].positive() != v.positive())
          change = i;
        else
          last_signed = i;
      }
      // Flat: exactly zero at three grid points in a row; the run nearest 0
      // is the one shown.
      if (report_flat && i >= 2 && at[i].zero() && at[i - 1].zero() && at[i - 2].zero() &&
          (!zero_run || std::abs(xs[i - 1]) < std::abs(xs[*zero_run + 1])))
        zero_run = i - 2;
    }
    auto witness = [&](size_t a, size_t b, bool flat) {
      if (a > b) std::swap(a, b);
      return SignWitness{flat,
                         xs[a],
                         xs[b],
                         midpoint(at[a]),
                         midpoint(at[b]),
                         others_at(g, others, leaves),
                         reads_parameters};
    };
    if (change) return witness(*last_signed, *change, false);
    if (zero_run) return witness(*zero_run, *zero_run + 2, true);
  }
  return search_boxes(g, z, d, x, others, domains);
}

std::optional<JumpWitness> find_jump(const Graph& g, NodeId z, const std::vector<NodeId>& x,
                                     const std::vector<NodeId>& others,
                                     const std::unordered_map<NodeId, Interval>& domains) {
  if (x.empty()) return std::nullopt;
  const std::vector<NodeId> order = topological_order(g, {z});
  // The selectors that can make z jump: sign's argument, select_pos's
  // condition (where, min, max, clamp), where they move with x.
  std::vector<NodeId> selectors;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    if ((n.op == Op::sign || n.op == Op::select_pos) && depends_on(g, n.args[0], x[0]))
      selectors.push_back(n.args[0]);
  }
  if (selectors.empty()) return std::nullopt;
  std::unordered_map<NodeId, Interval> leaves = parameter_leaves(g, z, z);
  auto at = [&](double v) {
    for (NodeId n : x) leaves[n] = Interval::point(v);
    return point_values(g, order, leaves);
  };
  const std::vector<double> xs = x_grid(domain_of(domains, x[0]));
  int crossings = 0;  // bisections cost 100 evaluations each: bounded
  for (double other : kOtherValues) {
    if (others.empty() && other != kOtherValues[0]) break;
    for (NodeId o : others) leaves[o] = Interval::point(inside(domain_of(domains, o), other));
    std::vector<std::unordered_map<NodeId, double>> grid;
    for (double v : xs) grid.push_back(at(v));
    for (NodeId s : selectors) {
      for (size_t i = 0; i + 1 < xs.size() && crossings < 256; ++i) {
        double lo = xs[i], hi = xs[i + 1];
        const double s_lo = grid[i].at(s), s_hi = grid[i + 1].at(s);
        // A crossing between the points, or a touch of 0 at one (the
        // condition of where(abs(x0 - 0.1) < 0.1, ..) is 0 at x0 = 0 and
        // negative at both neighbours).
        const bool touch = s_lo == 0;
        if (!touch && (std::isnan(s_lo) || std::isnan(s_hi) || (s_lo > 0) == (s_hi > 0))) continue;
        ++crossings;
        if (touch) hi = lo;
        // The crossing, by bisection to the last bits.
        for (int k = 0; !touch && k < 100 && hi - lo > 4e-16 * (1 + std::fabs(lo)); ++k) {
          const double mid = 0.5 * (lo + hi);
          ((at(mid).at(s) > 0) == (s_lo > 0) ? lo : hi) = mid;
        }
        // A jump: z across the crossing differs by far more than across
        // the same step just beside it (a kink, max(x, 2 x), does not).
        const double h = 1e-6 * (1 + std::fabs(lo));
        const double left = at(lo - h).at(z), right = at(hi + h).at(z);
        const double beside =
            std::fabs(at(lo - 3 * h).at(z) - left) + std::fabs(right - at(hi + 3 * h).at(z));
        const double jump = std::fabs(right - left);
        if (!std::isfinite(jump) || jump <= 1e-6 * (1 + std::fabs(left)) || jump <= 10 * beside)
          continue;
        // The crossing to the bits bisection found; 0 shown as 0, not 1e-16.
        const double where = 0.5 * (lo + hi);
        return JumpWitness{std::fabs(where) < 1e-12 ? 0.0 : where, left, right,
                           others_at(g, others, leaves)};
      }
    }
  }
  return std::nullopt;
}

std::optional<NumericImage> numeric_image(const Graph& g, NodeId z, const std::vector<NodeId>& x,
                                          const std::vector<NodeId>& others,
                                          const std::unordered_map<NodeId, Interval>& domains,
                                          const std::string& z_name, const std::string& x_name) {
  if (x.empty()) return std::nullopt;
  const std::vector<NodeId> order = topological_order(g, {z});
  const Interval domain = domain_of(domains, x[0]);
  std::unordered_map<NodeId, Interval> leaves = parameter_leaves(g, z, z);
  auto at = [&](double v) {
    for (NodeId n : x) leaves[n] = Interval::point(v);
    return point_values(g, order, leaves).at(z);
  };
  for (double other : kOtherValues) {
    if (others.empty() && other != kOtherValues[0]) break;
    for (NodeId o : others) leaves[o] = Interval::point(inside(domain_of(domains, o), other));
    const std::vector<std::string> where = others_at(g, others, leaves);
    // Each end: its finite limit, or where z heads (±inf), or unknown (a
    // finite end of the domain, NaN, no settling).
    struct End {
      double value = NAN;
      bool limit = false;
    };
    auto end = [&](double sign) {
      if ((sign > 0 ? domain.hi : domain.lo) != sign * INFINITY) return End{};
      // Far out, three values in a row that agree to 1e-9 (relative: 1e-300
      // x0 is unbounded) show a limit; later ones may be spoilt by overflow
      // (x0 / sqrt(1 + x0^2) is 0 at 1e300), so the first such run counts.
      double v[6];
      int k = 0;
      for (double far : {1e10, 1e20, 1e40, 1e80, 1e160, 1e300}) v[k++] = at(sign * far);
      auto settled = [](double a, double b) {
        return std::isfinite(a) && std::isfinite(b) && std::fabs(b - a) <= 1e-9 * std::fabs(b);
      };
      for (int i = 0; i + 2 < 6; ++i)
        if (settled(v[i], v[i + 1]) && settled(v[i + 1], v[i + 2])) return End{v[i + 2], true};
      return End{std::isnan(v[0]) ? NAN : sign * INFINITY, false};
    };
    const End lo = end(-1), hi = end(1);
    if (!lo.limit && !hi.limit) continue;
    // Which way z runs, from a point inside; where an end is unknown the
    // image may reach as far as it likes there.
    const double mid = at(inside(domain, 0));
    const bool increasing = lo.limit ? mid > lo.value : mid < hi.value;
    // An end without a limit: z runs off to infinity there, or is unknown;
    // either way the image may reach as far as it likes on that side.
    const double from = lo.limit ? lo.value : (increasing ? -INFINITY : INFINITY);
    const double to = hi.limit ? hi.value : (increasing ? INFINITY : -INFINITY);
    const End& shown = hi.limit ? hi : lo;
    const std::string context = where.empty() ? "" : fmt::format(" ({})", fmt::join(where, ", "));
    return NumericImage{{std::min(from, to), std::max(from, to), true, true},
                        fmt::format("{} tends to {:g} as {} -> {}{}", z_name, shown.value, x_name,
                                    hi.limit ? "inf" : "-inf", context)};
  }
  return std::nullopt;
}

std::string jump_message(const JumpWitness& w, const std::string& z, const std::string& x) {
  const std::string context =
      w.others.empty() ? "" : fmt::format(" ({})", fmt::join(w.others, ", "));
  return fmt::format("{} jumps at {} = {:.6g}{} from {:.4g} to {:.4g}", z, x, w.x, context, w.left,
                     w.right);
}

}  // namespace nfc
