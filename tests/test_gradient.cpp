// Reverse-mode parameter gradients (the nll_grad entry point) against
// central finite differences of the mean NLL, for every layer kind,
// transformer, rewrite and activation of the language; and the JIT against
// the interpreter's mean_gradient.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "compiler/backend/interp/Interpreter.hpp"
#include "driver/Compile.hpp"
#include "runtime/Random.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

using test::check_gradient;

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
