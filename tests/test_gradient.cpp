// Reverse-mode parameter gradients (the nll_grad entry point) against
// central finite differences of the mean NLL, for every layer kind,
// transformer, rewrite and activation of the language; and the JIT against
// the interpreter's mean_gradient.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "compiler/Interpreter.hpp"
#include "compiler/driver/Compile.hpp"
#include "runtime/Random.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

double mean_nll(const Flow<double>& flow, const std::vector<double>& params,
                const std::vector<double>& x, int64_t n) {
  std::vector<double> grad(params.size());
  return flow.nll_grad(params.data(), x.data(), n, grad.data());
}

// Every parameter's derivative by central differences. The step keeps the
// truncation error (~h^2 |f'''| ~ 1e-10) and the rounding error
// (~1e-16 |f| / h ~ 1e-11) of the difference far below the 1e-6 relative
// tolerance of the check.
void check_gradient(const std::string& source, uint64_t seed) {
  auto model = test::compile_or_fail(source);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(seed);
  const int d = flow.dim();
  const int64_t n = 13;  // a partial SIMD block: dead lanes must not leak
  Random rng(seed + 100);
  std::vector<double> x(static_cast<size_t>(n * d));
  for (auto& v : x) v = rng.normal();
  std::vector<double> params = flow.params(), grad(params.size());
  const double loss = flow.nll_grad(params.data(), x.data(), n, grad.data());
  CHECK(std::isfinite(loss));
  // The loss is the mean NLL that log_prob gives.
  std::vector<double> lp(static_cast<size_t>(n));
  flow.log_prob(x.data(), lp.data(), n);
  double mean = 0;
  for (double v : lp) mean -= v / double(n);
  CHECK(loss == Approx(mean).epsilon(1e-13));
  for (size_t i = 0; i < params.size(); ++i) {
    const double h = 1e-5 * (1 + std::fabs(params[i]));
    std::vector<double> p = params;
    p[i] = params[i] + h;
    const double up = mean_nll(flow, p, x, n);
    p[i] = params[i] - h;
    const double down = mean_nll(flow, p, x, n);
    const double fd = (up - down) / (2 * h);
    INFO("parameter " << i << " of " << params.size());
    CHECK(std::fabs(grad[i] - fd) <= 1e-6 * std::fabs(fd) + 1e-9);
  }
  // The JIT against the interpreter's reference reduction.
  const Program program = model->graph->program();
  std::vector<double> ref(params.size());
  const double ref_loss =
      interpret_mean_gradient(model->graph->graph, program.entries[3], params, x, n, ref);
  CHECK(loss == Approx(ref_loss).epsilon(1e-13));
  for (size_t i = 0; i < params.size(); ++i) CHECK(grad[i] == Approx(ref[i]).margin(1e-13));
}

}  // namespace

TEST_CASE("gradients of affine coupling with a soft clamp, tanh net", "[gradient]") {
  check_gradient(R"(
flow f(dim = 2) {
  repeat 2 {
    coupling affine(mask = alternate) { net = mlp(hidden = [5, 4], act = tanh); s = 2 * tanh(s / 2) }
  }
})",
                 1);
}

TEST_CASE("gradients through user transforms, permutations and a map", "[gradient]") {
  check_gradient(R"(
transform sas(x; a, b) = sinh(b * asinh(x) - a)
transform sig(x; s, t) = logit(sigmoid(x) * 0.5 + 0.25) * exp(s) + t
flow f(dim = 4) {
  coupling sas(mask = halves) { net = mlp(hidden = [3], act = elu); b = softplus(b) + 0.5 }
  permute random(seed = 5)
  map {
    z0 = x0 * 1.3 + 0.1
    z1 = x1 + 0.2 * tanh(x0)
    z2 = x2 * exp(0.1 * x1)
    z3 = sinh(asinh(x3) * 0.9) - x0 * x2
  }
  coupling sig(mask = [1, 0, 1, 0]) { net = mlp(hidden = [4], act = gelu); s = tanh(s) }
  permute reverse
  coupling additive(mask = alternate) { net = mlp(hidden = [], act = relu) }
})",
                 2);
}

TEST_CASE("gradients with sigmoid, softplus and relu conditioners", "[gradient]") {
  check_gradient(R"(
transform lin(x; s, t) = (x - t) / exp(s)
flow f(dim = 3) {
  coupling lin(mask = [1, 0, 0]) { net = mlp(hidden = [4], act = sigmoid) }
  coupling affine(mask = [0, 1, 1]) { net = mlp(hidden = [3, 3], act = softplus) }
  coupling affine(mask = alternate) { net = mlp(hidden = [6], act = relu); t = 3 * tanh(t / 3) }
})",
                 3);
}
