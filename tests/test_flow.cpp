// Whole flows through the JIT: round trips, log-dets against the
// determinant of a finite-difference Jacobian (Eigen), normalisation of the
// density by quadrature, f32 against f64, and JIT against the interpreter.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "compiler/backend/interp/Interpreter.hpp"
#include "driver/Compile.hpp"
#include "runtime/Random.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

using test::check_flow_numerics;
using test::compile_or_fail;
using test::normal_batch;

// Several layer kinds and transforms in one flow, on 5 dimensions.
const char* kMixed5d = R"(
transform sas(x; a, b) = sinh(b * asinh(x) - a)        # sinh-arcsinh
transform lin(x; s, t) = x * exp(s) + t

flow mixed(dim = 5) {
  coupling affine(mask = halves) { net = mlp(hidden = [16, 16], act = tanh); s = 2 * tanh(s / 2) }
  permute random(seed = 11)
  coupling sas(mask = alternate) {
    net = mlp(hidden = [8], act = elu)
    b = softplus(b) + 0.5
  }
  permute reverse
  coupling lin(mask = [1, 0, 0, 1, 0]) { net = mlp(hidden = [12], act = gelu) }
  map {
    z0 = x0 * 1.5 - 0.2
    z1 = x1 + 0.3 * tanh(x0)
    z2 = sinh(asinh(x2) * 1.2 + 0.1 * x1)
    z3 = x3 * exp(0.2 * x0) + x2 * x1
    z4 = x4 - 0.1 * x3^2
  }
  coupling additive(mask = alternate) { net = mlp(hidden = [6], act = softplus) }
  coupling affine(mask = alternate) { net = mlp(hidden = [6, 6], act = sigmoid) }
}
)";

const char* kMoons = R"(
flow moons(dim = 2) {
  repeat 4 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [32, 32], act = relu)
      s = 2 * tanh(s / 2)
    }
  }
}
)";

}  // namespace

TEST_CASE("RealNVP round trip, log-det and JIT agree", "[flow]") {
  check_flow_numerics(kMoons, 3);
}

TEST_CASE("mixed 5-D flow round trip, log-det and JIT agree", "[flow]") {
  check_flow_numerics(kMixed5d, 4);
}

TEST_CASE("sampling returns the density log_prob computes", "[flow]") {
  auto model = compile_or_fail(kMixed5d, Precision::f64);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(9);
  const auto s = flow.sample(100, 2);
  std::vector<double> lp(100);
  flow.log_prob(s.x.data(), lp.data(), 100);
  for (int i = 0; i < 100; ++i) CHECK(s.log_prob[i] == Approx(lp[i]).margin(1e-10));
}

// nfc sample streams large -n in blocks from one generator: the blocks
// must be exactly the samples of one draw, for every base (a mixture
// draws a component per row, an odd block splits a Box-Muller pair).
TEST_CASE("samples drawn in blocks from one generator equal one draw", "[flow]") {
  for (const char* base : {"normal", "mixture(components = 3)", "uniform"}) {
    INFO(base);
    auto model = compile_or_fail(std::string("flow f(dim = 3, base = ") + base +
                                     ") { coupling affine(mask = alternate) { net = mlp(hidden = "
                                     "[8]) } }",
                                 Precision::f64);
    Flow<double> flow = make_flow<double>(*model);
    flow.init_params(4);
    const auto whole = flow.sample(1001, 7);
    Random rng(7);
    std::vector<double> x, lp;
    for (int64_t n : {1, 333, 2, 665}) {
      const auto block = flow.sample(n, rng);
      x.insert(x.end(), block.x.begin(), block.x.end());
      lp.insert(lp.end(), block.log_prob.begin(), block.log_prob.end());
    }
    CHECK(x == whole.x);
    CHECK(lp == whole.log_prob);
  }
}

TEST_CASE("a 1-D flow's density integrates to one", "[flow]") {
  auto model = compile_or_fail(R"(
flow skew(dim = 1) {
  map { z0 = sinh(1.4 * asinh(x0) - 0.3) }
  map { z0 = x0 * exp(0.4) + 0.7 }
}
)",
                               Precision::f64);
  Flow<double> flow = make_flow<double>(*model);
  // Trapezoid on [-40, 40]: the density is smooth and its tails beyond 40
  // carry < 1e-12 of the mass, so the rule's error is far below 1e-6.
  const int64_t n = 200001;
  std::vector<double> x(n), lp(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -40 + 80.0 * i / (n - 1);
  flow.log_prob(x.data(), lp.data(), n);
  double mass = 0;
  for (int64_t i = 0; i < n; ++i) mass += std::exp(lp[i]) * (i == 0 || i == n - 1 ? 0.5 : 1);
  CHECK(mass * 80.0 / (n - 1) == Approx(1).margin(1e-6));
}

TEST_CASE("a 2-D RealNVP's density integrates to one", "[flow]") {
  auto model = compile_or_fail(kMoons, Precision::f64);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(3);
  // Midpoint rule on [-L, L]^2 with m^2 cells. The clamp |s| < 2 keeps each
  // layer's scale within e^+-2, so the density's tails are Gaussian-like
  // and [-25, 25]^2 holds all but a negligible part of the mass; with
  // 1000^2 cells the rule is accurate to well under 1e-3.
  const int m = 1000;
  const double L = 25, h = 2 * L / m;
  std::vector<double> x(2 * m * m), lp(m * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      x[2 * (i * m + j)] = -L + (i + 0.5) * h;
      x[2 * (i * m + j) + 1] = -L + (j + 0.5) * h;
    }
  flow.log_prob(x.data(), lp.data(), m * m);
  double mass = 0;
  for (double v : lp) mass += std::exp(v) * h * h;
  CHECK(mass == Approx(1).margin(1e-3));
}

TEST_CASE("f32 and f64 entry points agree", "[flow]") {
  auto m64 = compile_or_fail(kMixed5d, Precision::f64);
  auto m32 = compile_or_fail(kMixed5d, Precision::f32);
  Flow<double> f64 = make_flow<double>(*m64);
  Flow<float> f32 = make_flow<float>(*m32);
  f64.init_params(6);
  f32.init_params(6);
  const int64_t n = 50;
  const auto x = normal_batch(n, 5, 8);
  std::vector<float> xf(x.begin(), x.end()), lpf(n);
  std::vector<double> lp(n);
  f64.log_prob(x.data(), lp.data(), n);
  f32.log_prob(xf.data(), lpf.data(), n);
  // float32 carries ~7 digits; seven layers of exp/sinh/tanh lose a few
  // ulps each, so agreement to 1e-4 relative (1e-4 absolute near 0) is the
  // right expectation, not 1e-7.
  for (int64_t i = 0; i < n; ++i) CHECK(lpf[i] == Approx(lp[i]).epsilon(1e-4).margin(1e-4));
}
