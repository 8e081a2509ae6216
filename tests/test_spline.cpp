// The rational-quadratic spline transformer: against an independent scalar
// evaluation of nflows' formulas written out below, its inverse, log-det
// and gradients against finite differences, the JIT against the
// interpreter, and never-NaN at extreme inputs and degenerate parameters
// (also for where() in maps, through the factory's select rules).
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <iomanip>
#include <limits>

#include "compiler/analysis/Derive.hpp"
#include "compiler/ir/Print.hpp"
#include "compiler/layers/FlowPrint.hpp"
#include "compiler/layers/Spline.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

// nflows' unconstrained_rational_quadratic_spline (tails="linear") for one
// value, from its unconstrained widths, heights and interior derivatives.
struct ReferenceSpline {
  int bins;
  double bound, min_size = 1e-3, min_derivative = 1e-3;
  std::vector<double> xs, ys, ds;  // knots and the derivatives there

  ReferenceSpline(int k, double b, const std::vector<double>& u) : bins(k), bound(b) {
    xs = knots(&u[0]);
    ys = knots(&u[size_t(k)]);
    ds.assign(size_t(k) + 1, 1.0);
    for (int j = 1; j < k; ++j) {
      const double v = u[size_t(2 * k + j - 1)];  // softplus, stably
      ds[size_t(j)] = min_derivative + std::max(v, 0.0) + std::log1p(std::exp(-std::fabs(v)));
    }
  }

  std::vector<double> knots(const double* u) const {
    const double top = *std::max_element(u, u + bins);
    double total = 0;
    for (int k = 0; k < bins; ++k) total += std::exp(u[k] - top);
    std::vector<double> c{-bound};
    double cum = 0;
    for (int k = 0; k + 1 < bins; ++k) {
      cum += min_size + (1 - min_size * bins) * (std::exp(u[k] - top) / total);
      c.push_back(2 * bound * cum - bound);
    }
    c.push_back(bound);
    return c;
  }

  // z and log dz/dx at x.
  std::pair<double, double> operator()(double x) const {
    if (std::fabs(x) > bound) return {x, 0.0};
    size_t k = 0;
    while (k + 1 < size_t(bins) && x >= xs[k + 1]) ++k;
    const double w = xs[k + 1] - xs[k], h = ys[k + 1] - ys[k], s = h / w;
    const double t = (x - xs[k]) / w, tt = t * (1 - t);
    const double den = s + (ds[k] + ds[k + 1] - 2 * s) * tt;
    const double z = ys[k] + h * (s * t * t + ds[k] * tt) / den;
    const double dnum = s * s * (ds[k + 1] * t * t + 2 * s * tt + ds[k] * (1 - t) * (1 - t));
    return {z, std::log(dnum) - 2 * std::log(den)};
  }
};

// A flow whose only layer is a spline on x1 and x2 with parameters given
// directly: a linear conditioner with zero weights outputs its bias, which
// holds the parameters parameter-major (row p * 2 + i for dimension i + 1).
struct DirectSpline {
  std::unique_ptr<CompiledModel> model;
  Flow<double> flow;

  DirectSpline(int bins, double bound, const std::vector<double>& u1, const std::vector<double>& u2)
      : model(test::compile_or_fail(fmt::format(
            "flow f(dim = 3) {{ coupling spline(mask = [0, 1, 1], bins = {}, bound = {}) {{ "
            "net = mlp(hidden = []) }} }}",
            bins, bound))),
        flow(make_flow<double>(*model)) {
    std::vector<double>& p = flow.params();
    std::fill(p.begin(), p.end(), 0.0);
    for (const ParamTensor& t : flow.param_table()) {
      if (t.name != "layer0.net.b1") continue;
      REQUIRE(t.size == int64_t(2 * (3 * bins - 1)));
      for (size_t r = 0; r < u1.size(); ++r) {
        p[size_t(t.offset) + 2 * r] = u1[r];
        p[size_t(t.offset) + 2 * r + 1] = u2[r];
      }
    }
  }
};

std::vector<double> random_params(int bins, uint64_t seed, double scale) {
  return test::normal_batch(1, 3 * bins - 1, seed, scale);
}

// Every value of interest: inside, at every knot (both grids), at and beyond
// +-B, far out, 0.
std::vector<double> probe_points(const ReferenceSpline& r) {
  std::vector<double> v{0.0, 1e30, -1e30, 1e6, -1e6, r.bound, -r.bound};
  for (double x = -1.3 * r.bound; x <= 1.3 * r.bound; x += 0.0137 * r.bound) v.push_back(x);
  v.insert(v.end(), r.xs.begin(), r.xs.end());
  v.insert(v.end(), r.ys.begin(), r.ys.end());
  for (double k : r.xs) v.push_back(std::nextafter(k, -INFINITY));
  return v;
}

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// Forward z and log-det, and the inverse, of the direct spline at `xs`
// (x1 = x2 = each value).
struct Evaluated {
  std::vector<double> z, ld, back, ld_inv;
};

Evaluated evaluate(const DirectSpline& s, const std::vector<double>& values) {
  const int64_t n = int64_t(values.size());
  std::vector<double> x;
  for (double v : values) x.insert(x.end(), {0.5, v, v});
  Evaluated e{std::vector<double>(x.size()), std::vector<double>(size_t(n)),
              std::vector<double>(x.size()), std::vector<double>(size_t(n))};
  s.flow.forward(x.data(), e.z.data(), e.ld.data(), n);
  s.flow.inverse(e.z.data(), e.back.data(), e.ld_inv.data(), n);
  return e;
}

// The interpreter (std:: maths) against the reference to `tol`; the JIT
// (libmvec's vector exp/log, a few ulps) to `jit_tol`; inverse log-dets the
// negated forward ones (evaluated at the recovered x).
void check_against_reference(int bins, double bound, double scale, uint64_t seed, double tol,
                             double jit_tol) {
  const auto u1 = random_params(bins, seed, scale), u2 = random_params(bins, seed + 1, scale);
  const DirectSpline s(bins, bound, u1, u2);
  const ReferenceSpline r1(bins, bound, u1), r2(bins, bound, u2);
  const std::vector<double> values = probe_points(r1);
  const Evaluated e = evaluate(s, values);
  std::vector<double> x;
  for (double v : values) x.insert(x.end(), {0.5, v, v});
  const auto fwd = interpret_batch(s.model->graph->graph, s.model->graph->program().entries[0],
                                   s.flow.params(), x, int64_t(values.size()));
  REQUIRE(all_finite(e.z));
  REQUIRE(all_finite(e.ld));
  REQUIRE(all_finite(e.back));
  const auto close = [](double a, double b, double t) {
    return std::fabs(a - b) <= t * (1 + std::fabs(b));
  };
  for (size_t i = 0; i < values.size(); ++i) {
    const auto [z1, l1] = r1(values[i]);
    const auto [z2, l2] = r2(values[i]);
    INFO(std::setprecision(17) << "x = " << values[i] << ", scale " << scale << ": z " << z1 << " "
                               << z2 << ", log-det " << l1 + l2);
    CHECK(close(fwd[0][3 * i + 1], z1, tol));
    CHECK(close(fwd[0][3 * i + 2], z2, tol));
    CHECK(close(fwd[1][i], l1 + l2, tol));
    CHECK(close(e.z[3 * i + 1], z1, jit_tol));
    CHECK(close(e.z[3 * i + 2], z2, jit_tol));
    CHECK(close(e.ld[i], l1 + l2, jit_tol));
    // Degenerate bins: x(z) and so the log-det at the recovered x are
    // ill-conditioned (slopes down to e^-23); only finiteness is asked there.
    if (scale < 10) CHECK(close(e.ld_inv[i], -e.ld[i], jit_tol));
    CHECK(std::isfinite(e.ld_inv[i]));
  }
}

}  // namespace

TEST_CASE("spline: forward and log-det equal nflows' formulas evaluated directly", "[spline]") {
  check_against_reference(8, 3.0, 1.0, 11, 1e-12, 1e-10);
  check_against_reference(5, 1.5, 2.0, 12, 1e-12, 1e-10);
  check_against_reference(1, 3.0, 1.0, 13, 1e-12, 1e-10);  // one bin: no interior derivative
}

TEST_CASE("spline: degenerate parameters (+-1e4) stay finite and match", "[spline][nan]") {
  // Softmax shares of exp(-2e4) underflow to 0: bins at the minimum width.
  check_against_reference(8, 3.0, 1e4, 21, 1e-12, 1e-9);
}

TEST_CASE("spline: inverse(forward(x)) = x inside, at knots and in the tails", "[spline]") {
  for (const double scale : {1.0, 3.0, 1e4}) {
    const auto u1 = random_params(8, 31, scale), u2 = random_params(8, 32, scale);
    const DirectSpline s(8, 3.0, u1, u2);
    const std::vector<double> values = probe_points(ReferenceSpline(8, 3.0, u1));
    const Evaluated e = evaluate(s, values);
    // Larger parameters give steep and flat bins (slopes from e^-23 to 1e4
    // when degenerate) where x(z) is ill-conditioned: the check everywhere is
    // that forward(back) reproduces z, and back = x for moderate ones.
    std::vector<double> again(e.back.size()), ld(values.size());
    s.flow.forward(e.back.data(), again.data(), ld.data(), int64_t(values.size()));
    for (size_t i = 0; i < values.size(); ++i) {
      INFO("x = " << values[i] << ", scale " << scale);
      for (size_t d = 1; d < 3; ++d) {
        const size_t k = 3 * i + d;
        // A slope of up to 1e4 scales x's rounding (3e-16 near B) into z.
        const double z_tol = scale > 10 ? 1e-11 : 1e-13;
        CHECK(std::fabs(again[k] - e.z[k]) <= z_tol * (1 + std::fabs(e.z[k])));
        if (scale == 1)
          CHECK(std::fabs(e.back[k] - values[i]) <= 1e-12 * (1 + std::fabs(values[i])));
      }
    }
  }
}

TEST_CASE("spline: the symbolic dz/dx equals exp(log-det) and finite differences", "[spline]") {
  Graph g;
  const SplineSpec spec;
  const TransformRules r = spline_rules(g, spec);
  const auto u = random_params(spec.bins, 41, 1.5);
  const ReferenceSpline ref(spec.bins, spec.bound, u);
  std::unordered_map<NodeId, NodeId> bind;
  for (size_t p = 0; p < r.params.size(); ++p) bind[r.params[p]] = g.constant(u[p]);
  for (double x = -3.5; x <= 3.5; x += 0.0731) {
    INFO("x = " << x);
    bind[r.x] = g.constant(x);
    // All leaves constant: the factory folds each rule to its value.
    const double dzdx = g.node(substitute(g, r.dzdx, bind)).value;
    const double logabs = g.node(substitute(g, r.logabs, bind)).value;
    const double h = 1e-6;
    const double fd = (ref(x + h).first - ref(x - h).first) / (2 * h);
    CHECK(dzdx == Approx(std::exp(logabs)).epsilon(1e-12));
    CHECK(dzdx == Approx(fd).epsilon(1e-7));
  }
}

TEST_CASE("spline coupling flows: round trip, log-det, JIT = interpreter, gradients", "[spline]") {
  const std::string narrow = R"(
flow f(dim = 3) {
  coupling spline(mask = [0, 1, 1], bins = 4, bound = 1.5, min_derivative = 0.01) {
    net = mlp(hidden = [8], act = tanh)
  }
  permute reverse
  coupling spline(mask = alternate) { net = mlp(hidden = [6, 5]) }
}
)";
  test::check_flow_numerics(narrow, 3);
  test::check_gradient(narrow, 4);
}

TEST_CASE("spline: forward and inverse, JIT against the interpreter", "[spline]") {
  const auto u1 = random_params(8, 51, 1.0), u2 = random_params(8, 52, 1.0);
  const DirectSpline s(8, 3.0, u1, u2);
  const std::vector<double> values = probe_points(ReferenceSpline(8, 3.0, u1));
  const Evaluated e = evaluate(s, values);
  const Program program = s.model->graph->program();
  const int64_t n = int64_t(values.size());
  std::vector<double> x;
  for (double v : values) x.insert(x.end(), {0.5, v, v});
  const auto fwd =
      interpret_batch(s.model->graph->graph, program.entries[0], s.flow.params(), x, n);
  const auto inv =
      interpret_batch(s.model->graph->graph, program.entries[1], s.flow.params(), e.z, n);
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(e.z[i] == Approx(fwd[0][i]).epsilon(1e-14).margin(1e-14));
    CHECK(e.back[i] == Approx(inv[0][i]).epsilon(1e-14).margin(1e-14));
  }
  for (size_t i = 0; i < size_t(n); ++i) CHECK(e.ld[i] == Approx(fwd[1][i]).margin(1e-13));
}

namespace {

// nll_grad with every coordinate at each probe value (the conditioners' too)
// and every network's first bias at +-`bias`: the loss and every
// gradient entry finite.
void check_finite_gradient(const std::string& source, const std::vector<double>& values,
                           double bias) {
  auto model = test::compile_or_fail(source);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(7);
  Random rng(9);
  for (const ParamTensor& t : flow.param_table())
    if (t.name.ends_with(".b1") && bias != 0)
      for (int64_t i = 0; i < t.size; ++i)
        flow.params()[size_t(t.offset + i)] = rng.normal() > 0 ? bias : -bias;
  const int d = flow.dim();
  for (double v : values) {
    INFO("x = " << v);
    std::vector<double> x(size_t(d), v), grad(flow.params().size());
    const double loss = flow.nll_grad(x.data(), 1, grad.data());
    CHECK(std::isfinite(loss));
    CHECK(all_finite(grad));
  }
}

}  // namespace

TEST_CASE("spline: finite loss and gradients far outside, at +-B and at knots", "[spline][nan]") {
  const auto u = random_params(8, 61, 1.0);
  const std::vector<double> values = probe_points(ReferenceSpline(8, 3.0, u));
  const std::string one_layer =
      "flow f(dim = 3) { coupling spline(mask = [0, 1, 1]) { net = mlp(hidden = []) } }";
  for (const double bias : {0.0, 1e4, 1e2}) {
    INFO("conditioner outputs +-" << bias);
    check_finite_gradient(one_layer, values, bias);
    check_finite_gradient(
        "flow f(dim = 3) { repeat 2 { coupling spline(mask = alternate) { net = mlp(hidden = "
        "[4]) }; permute reverse } }",
        values, bias);
  }
}

TEST_CASE("where with a branch undefined where it is not selected: finite gradients", "[nan]") {
  // log(x0) is -inf at 0 and NaN below: the unselected branch's partials
  // (1/x0, log x0) must not reach the parameters' gradients as 0 * inf.
  const std::string source = R"(
flow f(dim = 2) {
  map {
    param a = 1.5 positive
    z0 = a * x0
    z1 = x1
  }
  map {
    param b = 0.5, c = 0.3
    z0 = x0
    z1 = x1 * exp(c) + where(x0 > 0, b * log(x0), 0) + where(x0 < 1, sqrt(1 - x0), 0)
  }
}
)";
  check_finite_gradient(source, {0.0, -1.0, 1.0, 2.0, 1e30, -1e30, 1e-300}, 0);
  test::check_gradient(source, 5);
}

TEST_CASE("a zero-branch select takes a product into its branch", "[nan][simplify]") {
  Graph g;
  const NodeId c = g.var(g.add_var_name("c")), a = g.var(g.add_var_name("a"));
  const NodeId p = g.var(g.add_var_name("p"));
  const NodeId masked = g.select_pos(c, a, g.constant(0));
  const Node prod = g.node(g.binary(Op::mul, p, masked));
  CHECK(prod.op == Op::select_pos);
  CHECK(prod.args[1] == g.binary(Op::mul, a, p));
  CHECK(g.is_constant(prod.args[2], 0));
  // Two masked adjoints of one select add up as one select.
  const NodeId other = g.select_pos(c, g.constant(0), p);
  const Node sum = g.node(g.binary(Op::add, masked, other));
  CHECK(sum.op == Op::select_pos);
  CHECK(sum.args[1] == a);
  CHECK(sum.args[2] == p);
}

TEST_CASE("spline: --dump=graph and --explain stay small for many bins", "[spline]") {
  // The knots share subexpressions (the softmax's running maximum): printed
  // as trees they would grow as 2^bins.
  auto model = test::compile_or_fail(
      "flow f(dim = 2) { coupling spline(mask = alternate, bins = 64, bound = 5) }");
  std::ostringstream dump, explain;
  print_flow_graph(dump, *model->graph);
  print_inversions(explain, *model->graph);
  CHECK(dump.str().size() < 4000000);
  CHECK(dump.str().find("rational-quadratic spline, 64 bins on [-5, 5]") != std::string::npos);
  CHECK(explain.str().find("increasing (by construction)") != std::string::npos);
}
