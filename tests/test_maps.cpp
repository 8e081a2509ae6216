// Hand-written triangular maps: a catalogue of maps with learnable,
// constrained parameters, each with its round trip, log-det against a
// finite-difference Jacobian, and parameter gradients against finite
// differences; and what the simplifier makes of the banana map's log-det.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "compiler/ir/Print.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

const char* kBanana = R"(
flow banana(dim = 2) {
  param a = 1.3 positive, b = 0.5
  map {
    z0 = x0 / a
    z1 = x1 * a - b * (x0^2 + a^2)
  }
}
)";

const char* kSinhArcsinh = R"(
flow sas(dim = 2) {
  map {
    param d[2] = 1.2 positive, e = [0.2, -0.3]
    z0 = sinh(d[0] * asinh(x0) - e[0])
    z1 = sinh(d[1] * asinh(x1) - e[1]) + 0.3 * x0
  }
}
)";

// Several functions, a let, where, clamp, and an interval-constrained parameter.
const char* kMixed3d = R"(
flow tri(dim = 3) {
  param c = 0.4 (-1, 1)
  map {
    let u = tanh(x0)
    z0 = x0 * exp(0.3) + c
    z1 = x1 * (1 + u^2) + where(x0 > 0, x0, 0.5 * x0)
    z2 = 2 * asinh(x2) + x1 * u + clamp(x0, -1, 1) * c
  }
  map {
    z0 = x0
    z1 = x1
    z2 = x2 * softplus(x0) + log1p(x1^2)
  }
}
)";

// Triangular only in the order z1, z2, z0: nfc finds the order.
const char* kReordered = R"(
flow reordered(dim = 3) {
  param k = 0.7
  map {
    z0 = x0 * exp(0.5) + k * x1 * x2
    z1 = x1 + 1
    z2 = x2 - sinh(x1)
  }
}
)";

}  // namespace

TEST_CASE("banana map: round trip, log-det, gradients", "[maps]") {
  test::check_flow_numerics(kBanana, 1);
  test::check_gradient(kBanana, 1);
}

TEST_CASE("the banana map's derived log-det simplifies to 0", "[maps][simplify]") {
  auto m = test::compile_or_fail(kBanana);
  // log|1/a| + log|a| with a = softplus(raw) > 0: the exact cancellation.
  CHECK(to_infix(m->graph->graph, m->graph->forward_logdet) == "0");
  CHECK(to_infix(m->graph->graph, m->graph->inverse_logdet) == "0");
}

TEST_CASE("sinh-arcsinh map with vector parameters", "[maps]") {
  test::check_flow_numerics(kSinhArcsinh, 2);
  test::check_gradient(kSinhArcsinh, 2);
}

TEST_CASE("3-D map mixing functions, lets, where and clamp", "[maps]") {
  test::check_flow_numerics(kMixed3d, 3);
  test::check_gradient(kMixed3d, 3);
}

// atan, asin, acos, acosh, cbrt, log2, erf, erfc, cosh, tan, erfinv and
// sign in one map
// (tests/models/elementary.nf, also emitted to C++ by test_emit_cpp):
// round trip, log-det against the finite-difference Jacobian, gradients.
TEST_CASE("a map of the elementary functions", "[maps]") {
  std::ifstream in(std::string(NFC_SOURCE_DIR) + "/tests/models/elementary.nf");
  const std::string source{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  REQUIRE(!source.empty());
  test::check_flow_numerics(source, 3);
  test::check_gradient(source, 3);
}

// The image check (tests/errors/image_*.nf for what it refuses) ignores a
// support's ends, which have probability 0: sigmoid onto (0, 1) serves a
// uniform base on [0, 1], and exp then log ends on all of R.
TEST_CASE("images that cover the base's support up to its ends are accepted", "[maps]") {
  CHECK(test::compile_or_fail("flow e(dim = 2, base = uniform) { elementwise sigmoid }") !=
        nullptr);
  CHECK(test::compile_or_fail("flow e(dim = 2) {\n  map { z0 = exp(x0); z1 = x1 }\n"
                              "  map { z0 = log(x0); z1 = x1 }\n}") != nullptr);
}

TEST_CASE("a map triangular in another order is inverted in that order", "[maps]") {
  auto m = test::compile_or_fail(kReordered);
  CHECK(m->graph->layers[0].order == std::vector<int>{1, 2, 0});
  test::check_flow_numerics(kReordered, 4);
}

TEST_CASE("map parameters start at their declared values", "[maps]") {
  auto m = test::compile_or_fail(kBanana);
  Flow<double> flow = make_flow<double>(*m);
  flow.init_params(123);
  // a is stored raw: softplus(raw) = 1.3; b as declared.
  REQUIRE(flow.param_table().size() == 2);
  CHECK(std::log1p(std::exp(flow.params()[0])) == Approx(1.3).epsilon(1e-15));
  CHECK(flow.params()[1] == 0.5);
  CHECK(flow.param_table()[0].name == "a");
}

namespace {

// Outputs without a closed-form inverse: solved by Newton-bisection.
const char* kNewtonMap = R"(
flow newton(dim = 2) {
  param a = 0.6 (-0.9, 0.9)
  map {
    z0 = x0 + a * tanh(x0)
    z1 = x1 * exp(0.2 * x0) + 0.3 * sinh(x1)
  }
}
)";

const char* kNewtonTransform = R"(
transform bent(x; s, t) = x * exp(s) + 0.5 * tanh(x) + t
flow bentflow(dim = 3) {
  repeat 2 {
    coupling bent(mask = alternate) { net = mlp(hidden = [8], act = tanh); s = 2 * tanh(s / 2) }
  }
}
)";

// sin and cos: periodic terms under a dominant identity, so each output is
// increasing (dz0/dx0 = 1 + a cos x0 >= 0.1, dz1/dx1 = 1 - 0.4 sin 2 x1 >=
// 0.6, both proved by interval arithmetic), inverted by Newton-bisection.
const char* kFourier = R"(
flow fourier(dim = 2) {
  param a = 0.4 (-0.9, 0.9)
  map {
    z0 = x0 + a * sin(x0)
    z1 = x1 + 0.2 * cos(2 * x1) + sin(x0) * cos(x0)
  }
}
)";

}  // namespace

TEST_CASE("sin and cos in a map: monotonicity proved, round trip, log-det, gradients", "[maps]") {
  auto m = test::compile_or_fail(kFourier);
  const auto& inv = m->graph->inversions;
  REQUIRE(inv.size() == 2);
  CHECK_FALSE(inv[0].analytic);
  CHECK(inv[0].monotonicity == Monotonicity::increasing);
  CHECK(inv[1].monotonicity == Monotonicity::increasing);
  test::check_flow_numerics(kFourier, 7);
  test::check_gradient(kFourier, 7);
}

TEST_CASE("map outputs without a closed form are inverted by Newton-bisection", "[maps]") {
  auto m = test::compile_or_fail(kNewtonMap);
  const auto& inv = m->graph->inversions;
  REQUIRE(inv.size() == 2);
  CHECK_FALSE(inv[0].analytic);
  CHECK(inv[0].monotonicity == Monotonicity::increasing);  // |a| < 1 by its constraint
  CHECK(inv[1].monotonicity == Monotonicity::increasing);
  test::check_flow_numerics(kNewtonMap, 5);
  test::check_gradient(kNewtonMap, 5);
}

TEST_CASE("coupling transforms without a closed form are inverted by Newton-bisection", "[maps]") {
  test::check_flow_numerics(kNewtonTransform, 6);
  test::check_gradient(kNewtonTransform, 6);
}

TEST_CASE("Newton-bisection inverses agree in f32 and f64", "[maps]") {
  auto m64 = test::compile_or_fail(kNewtonMap, Precision::f64);
  auto m32 = test::compile_or_fail(kNewtonMap, Precision::f32);
  Flow<double> f64 = make_flow<double>(*m64);
  Flow<float> f32 = make_flow<float>(*m32);
  f64.init_params(1);
  f32.init_params(1);
  const auto z = test::normal_batch(40, 2, 9);
  std::vector<float> zf(z.begin(), z.end()), xf(z.size()), ldf(40);
  std::vector<double> x(z.size()), ld(40);
  f64.inverse(z.data(), x.data(), ld.data(), 40);
  f32.inverse(zf.data(), xf.data(), ldf.data(), 40);
  // float32's solver stops at 4 float eps: agreement to 1e-5 relative.
  for (size_t i = 0; i < x.size(); ++i) CHECK(xf[i] == Approx(x[i]).epsilon(1e-5).margin(1e-5));
}

// erfinv is nfc's own (compiler/ir/Erfinv.hpp: an approximation refined by
// Halley steps), so its accuracy is tested, in double and through the JIT
// in f32 and f64: erf(erfinv(x)) = x to a few ulps of x in the centre, and in the
// tails 1 - |x| = erfc(|erfinv(x)|) to a few ulps of 1 - |x|, where all the
// information sits. Reference values from mpmath at 30 digits.
TEST_CASE("erfinv: accurate to a few ulps over (-1, 1), in double, f64 and f32", "[maps]") {
  CHECK(eval_elementwise(Op::erfinv, 0.5) == Approx(0.47693627620446987338).epsilon(4e-16));
  CHECK(eval_elementwise(Op::erfinv, -0.9) == Approx(-1.1630871536766740867).epsilon(4e-16));
  CHECK(eval_elementwise(Op::erfinv, 0.999) == Approx(2.3267537655135246).epsilon(4e-16));
  CHECK(eval_elementwise(Op::erfinv, 1e-300) == Approx(8.862269254527580e-301).epsilon(4e-16));
  CHECK(eval_elementwise(Op::erfinv, 0) == 0);
  std::vector<double> xs;
  for (double v = -0.99; v <= 0.99; v += 0.0137) xs.push_back(v);
  for (double t : {1e-3, 1e-6, 1e-9, 1e-12, 1e-15}) {
    xs.push_back(1 - t);
    xs.push_back(t - 1);
  }
  for (double x : xs) {
    INFO("x = " << x);
    const double y = eval_elementwise(Op::erfinv, x);
    if (std::fabs(x) < 0.5)
      CHECK(std::erf(y) == Approx(x).epsilon(8e-16).margin(1e-300));
    else
      CHECK(std::erfc(std::fabs(y)) == Approx(1 - std::fabs(x)).epsilon(1e-14));
  }
  // The JIT evaluates the same formula: elementwise erfinv's forward map.
  for (Precision p : {Precision::f64, Precision::f32}) {
    auto model = test::compile_or_fail("flow e(dim = 1) { elementwise erfinv }", p);
    std::vector<double> inside;
    for (double x : xs)
      if (p == Precision::f64 || std::fabs(x) < 1 - 1e-6) inside.push_back(x);
    const int64_t n = int64_t(inside.size());
    auto check = [&]<class T>(Flow<T> flow) {
      std::vector<T> x(inside.begin(), inside.end()), z(x.size()), ld(x.size());
      flow.forward(x.data(), z.data(), ld.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        INFO("x = " << inside[size_t(i)]);
        const double exact = eval_elementwise(Op::erfinv, double(x[size_t(i)]));
        // f32: the libm calls and the formula's roundings in float, each a few
        // ulps, amplified in the tails by 1 / (erfinv's derivative)...
        CHECK(double(z[size_t(i)]) ==
              Approx(exact).epsilon(p == Precision::f64 ? 1e-14 : 2e-5).margin(1e-300));
      }
    };
    if (p == Precision::f64)
      check(make_flow<double>(*model));
    else
      check(make_flow<float>(*model));
  }
}
