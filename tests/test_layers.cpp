// The linear (LU) and elementwise layers: numerics of both directions,
// gradients, and the documented LU parameter layout against Eigen.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>

#include "driver/Compile.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;
using test::check_flow_numerics;
using test::check_gradient;
using test::compile_or_fail;
using test::normal_batch;

namespace {

const char* kGlowLike = R"(
transform sas(x; a, b) = sinh(b * asinh(x) - a)
flow f(dim = 4) {
  elementwise affine(s = 0.1, t = -0.2)
  linear
  coupling affine(mask = halves) { net = mlp(hidden = [8], act = tanh); s = tanh(s) }
  linear
  elementwise sas(a = 0.1, b = 1.2)
  elementwise asinh
}
)";

}  // namespace

TEST_CASE("linear and elementwise layers: round trip, log-det, JIT against interpreter",
          "[layers]") {
  check_flow_numerics(kGlowLike, 4);
  check_flow_numerics("flow f(dim = 1) { linear; elementwise sinh; linear }", 5);
}

TEST_CASE("linear and elementwise layers: gradients against finite differences",
          "[layers][gradient]") {
  check_gradient(kGlowLike, 6);
}

// docs/language.md: lower holds L's strict lower triangle row by row, upper
// U's strict upper triangle row by row, U's diagonal is exp(log_diag); the
// layer is z = L U x + bias with log-det sum(log_diag).
TEST_CASE("linear layer equals L U x + b from its documented parameters", "[layers]") {
  const int D = 4;
  auto model = compile_or_fail("flow f(dim = 4) { linear }");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(8);
  std::vector<double>& params = flow.params();
  for (size_t i = 0; i < params.size(); ++i)
    params[i] += 0.01 * double(i % 7);  // non-zero diag, bias
  auto tensor = [&](const std::string& name) {
    for (const ParamTensor& p : flow.param_table())
      if (p.name == name) return params.data() + p.offset;
    FAIL("no tensor " << name);
    return static_cast<double*>(nullptr);
  };
  const double *lower = tensor("layer0.lower"), *upper = tensor("layer0.upper");
  const double *log_diag = tensor("layer0.log_diag"), *bias = tensor("layer0.bias");
  Eigen::MatrixXd L = Eigen::MatrixXd::Identity(D, D), U = Eigen::MatrixXd::Zero(D, D);
  int l = 0, u = 0;
  for (int i = 0; i < D; ++i) {
    for (int j = 0; j < i; ++j) L(i, j) = lower[l++];
    U(i, i) = std::exp(log_diag[i]);
    for (int j = i + 1; j < D; ++j) U(i, j) = upper[u++];
  }
  const auto x = normal_batch(5, D, 9);
  std::vector<double> z(x.size()), ld(5);
  flow.forward(x.data(), z.data(), ld.data(), 5);
  for (int s = 0; s < 5; ++s) {
    Eigen::VectorXd xv(D), b(D);
    for (int i = 0; i < D; ++i) {
      xv(i) = x[s * D + i];
      b(i) = bias[i];
    }
    const Eigen::VectorXd ref = L * U * xv + b;
    for (int i = 0; i < D; ++i) CHECK(z[s * D + i] == Approx(ref(i)).epsilon(1e-13).margin(1e-13));
    CHECK(ld[s] == Approx(std::log((L * U).determinant())).epsilon(1e-12));
  }
}
