// Front end on valid models: the FlowSpec it builds (repeats unrolled, masks
// and permutations explicit, rewrites and map outputs captured).
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <sstream>
#include <string>

#include "compiler/Frontend.hpp"
#include "compiler/Permutations.hpp"

namespace {

using nfc::CouplingSpec;
using nfc::Expr;
using nfc::FlowSpec;
using nfc::MapSpec;
using nfc::PermuteSpec;

// Checks `source`, failing the test with the printed diagnostics if invalid.
FlowSpec checked(const std::string& source) {
  nfc::Diagnostics diags("test.nf", source);
  std::optional<FlowSpec> spec = nfc::check_source(source, diags);
  std::ostringstream printed;
  diags.print(printed);
  INFO(printed.str());
  REQUIRE(spec.has_value());
  REQUIRE_FALSE(diags.has_errors());
  return *spec;
}

const CouplingSpec& coupling(const FlowSpec& spec, size_t layer) {
  REQUIRE(std::holds_alternative<CouplingSpec>(spec.layers.at(layer).kind));
  return std::get<CouplingSpec>(spec.layers[layer].kind);
}

const std::vector<int>& perm(const FlowSpec& spec, size_t layer) {
  REQUIRE(std::holds_alternative<PermuteSpec>(spec.layers.at(layer).kind));
  return std::get<PermuteSpec>(spec.layers[layer].kind).perm;
}

using Ints = std::vector<int>;

const char* const kMoons = R"(# comments run to end of line
transform affine2(x; s, t) = x * exp(s) + t     # user-written transformer
transform shift(x; t) = x + t

flow moons(dim = 2, base = normal) {
  repeat 4 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)                        # soft clamp
    }
    permute reverse
  }
  permute random(seed = 3)
  coupling shift(mask = [0, 1])                  # default net
  map {
    z0 = x0
    z1 = x1 * exp(0.5) + x0^2
  }
}
)";

}  // namespace

TEST_CASE("the example model unrolls to the expected layers", "[frontend]") {
  const FlowSpec spec = checked(kMoons);
  CHECK(spec.name == "moons");
  CHECK(spec.dim == 2);
  CHECK(spec.base == nfc::BaseDistribution::standard_normal);
  CHECK(spec.loc.line == 5);
  REQUIRE(spec.layers.size() == 11);  // 4 x (coupling, permute) + permute + coupling + map
  std::vector<std::string> labels;
  for (const auto& layer : spec.layers) labels.push_back(layer.label);
  CHECK(labels.front() == "coupling affine");
  CHECK(labels[1] == "permute reverse");
  CHECK(labels[8] == "permute random");
  CHECK(labels[9] == "coupling shift");
  CHECK(labels[10] == "map");
  CHECK(spec.layers[0].loc.line == 7);
  CHECK(spec.layers[0].loc.col == 5);
  CHECK(perm(spec, 1) == Ints{1, 0});
}

TEST_CASE("prelude transforms come first, user transforms after", "[frontend]") {
  const FlowSpec spec = checked(kMoons);
  REQUIRE(spec.transforms.size() == 4);
  CHECK(spec.transforms[0].name == "affine");
  CHECK(spec.transforms[0].params == std::vector<std::string>{"s", "t"});
  CHECK(spec.transforms[1].name == "additive");
  CHECK(spec.transforms[2].name == "affine2");
  CHECK(spec.transforms[2].input == "x");
  CHECK(spec.transforms[3].name == "shift");
  CHECK(coupling(spec, 0).transform == 0);
  CHECK(coupling(spec, 9).transform == 3);
}

TEST_CASE("alternate masks alternate over all couplings, through repeats", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 5) {
  repeat 2 {
    coupling affine(mask = alternate)
    permute reverse
  }
  coupling additive(mask = [1, 1, 0, 0, 0])
  coupling affine(mask = alternate)
})");
  REQUIRE(spec.layers.size() == 6);
  // k = 0 transforms odd dims; k = 1 even dims; the explicit mask is k = 2.
  CHECK(coupling(spec, 0).transformed_dims == Ints{1, 3});
  CHECK(coupling(spec, 0).identity_dims == Ints{0, 2, 4});
  CHECK(coupling(spec, 2).transformed_dims == Ints{0, 2, 4});
  CHECK(coupling(spec, 2).identity_dims == Ints{1, 3});
  CHECK(coupling(spec, 4).transformed_dims == Ints{0, 1});
  CHECK(coupling(spec, 4).identity_dims == Ints{2, 3, 4});
  CHECK(coupling(spec, 5).transformed_dims == Ints{0, 2, 4});  // k = 3
}

TEST_CASE("halves masks transform the last half, then the first", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 5) {
  repeat 3 { coupling affine(mask = halves) }
})");
  REQUIRE(spec.layers.size() == 3);
  CHECK(coupling(spec, 0).transformed_dims == Ints{3, 4});
  CHECK(coupling(spec, 0).identity_dims == Ints{0, 1, 2});
  CHECK(coupling(spec, 1).transformed_dims == Ints{0, 1});
  CHECK(coupling(spec, 1).identity_dims == Ints{2, 3, 4});
  CHECK(coupling(spec, 2).transformed_dims == Ints{3, 4});
}

TEST_CASE("nested repeats multiply", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 2) {
  repeat 2 {
    repeat 3 { permute reverse }
    coupling affine(mask = alternate)
  }
})");
  CHECK(spec.layers.size() == 8);
  CHECK(coupling(spec, 3).transformed_dims == Ints{1});
  CHECK(coupling(spec, 7).transformed_dims == Ints{0});
}

TEST_CASE("random permutations are deterministic permutations", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 10) {
  permute random(seed = 42)
  permute random(seed = 42)
  permute random(seed = 7)
  permute [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
})");
  const Ints& p = perm(spec, 0);
  Ints sorted = p;
  std::sort(sorted.begin(), sorted.end());
  Ints identity(10);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(p != identity);
  CHECK(perm(spec, 1) == p);
  CHECK(perm(spec, 2) != p);
  CHECK(perm(spec, 3) == nfc::reverse_permutation(10));
  // The same source gives the same permutation in a new run.
  CHECK(perm(checked("flow g(dim = 10) { permute random(seed = 42) }"), 0) == p);
}

TEST_CASE("the permutation generator is splitmix64 + Fisher-Yates", "[frontend]") {
  // Reference value of splitmix64 seeded with 0 (Vigna's splitmix64.c).
  nfc::SplitMix64 rng(0);
  CHECK(rng.next() == 0xe220a8397b1dcdafULL);
  // Fisher-Yates from the last index: for dim 2, swap iff next() % 2 == 0.
  nfc::SplitMix64 seed3(3);
  const bool swap = seed3.next() % 2 == 0;
  CHECK(nfc::random_permutation(2, 3) == (swap ? Ints{1, 0} : Ints{0, 1}));
  CHECK(nfc::random_permutation(1, 99) == Ints{0});
}

TEST_CASE("coupling blocks give the network and the rewrites", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 3) {
  coupling affine(mask = [1, 0, 0]) {
    net = mlp(hidden = [], act = tanh)
    s = 2 * tanh(s / 2); t = t + s
  }
  coupling affine(mask = [0, 1, 1]) { net = mlp(hidden = [8, 16, 4]) }
  coupling additive(mask = [0, 0, 1])
})");
  const CouplingSpec& c0 = coupling(spec, 0);
  CHECK(c0.net.hidden.empty());
  CHECK(c0.net.act == nfc::Activation::tanh);
  REQUIRE(c0.rewrites.size() == 2);
  CHECK(c0.rewrites[0].param == "s");
  CHECK(c0.rewrites[0].loc.line == 4);
  CHECK(c0.rewrites[0].loc.col == 5);
  REQUIRE(c0.rewrites[0].expr);
  CHECK(c0.rewrites[0].expr->kind == Expr::Kind::binary);
  CHECK(c0.rewrites[0].expr->op == '*');
  CHECK(c0.rewrites[1].param == "t");
  CHECK(c0.transformed_dims == Ints{0});
  CHECK(c0.identity_dims == Ints{1, 2});
  CHECK(coupling(spec, 1).net.hidden == Ints{8, 16, 4});
  CHECK(coupling(spec, 1).net.act == nfc::Activation::relu);
  CHECK(coupling(spec, 2).net.hidden == Ints{64, 64});
  CHECK(coupling(spec, 2).rewrites.empty());
}

TEST_CASE("map outputs are ordered by index", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 3) {
  map {
    z2 = x2 + x0
    z0 = x0; z1 = -x1^2
  }
})");
  REQUIRE(spec.layers.size() == 1);
  const auto& map = std::get<MapSpec>(spec.layers[0].kind);
  REQUIRE(map.outputs.size() == 3);
  REQUIRE(map.output_locs.size() == 3);
  CHECK(map.outputs[0]->kind == Expr::Kind::name);
  CHECK(map.outputs[0]->name == "x0");
  CHECK(map.output_locs[0].line == 4);
  CHECK(map.output_locs[0].col == 5);
  CHECK(map.output_locs[0].length == 2);
  CHECK(map.outputs[2]->kind == Expr::Kind::binary);
  CHECK(map.output_locs[2].line == 3);
  // -x1^2 is -(x1^2): ^ binds tighter than unary minus.
  CHECK(map.outputs[1]->kind == Expr::Kind::neg);
  CHECK(map.outputs[1]->args[0]->op == '^');
}

TEST_CASE("expressions parse with the usual precedence", "[frontend]") {
  const FlowSpec spec = checked(R"(
transform f(x; a, b) = a - b - x * 2 ^ 3 ^ .5 / 1e-3
flow g(dim = 2) { coupling f(mask = [1, 0]) }
)");
  const Expr& e = *spec.transforms.back().body;
  // (a - b) - ((x * (2 ^ (3 ^ .5))) / 1e-3)
  REQUIRE(e.op == '-');
  CHECK(e.args[0]->op == '-');
  const Expr& quotient = *e.args[1];
  REQUIRE(quotient.op == '/');
  CHECK(quotient.args[1]->value == Approx(1e-3));
  const Expr& product = *quotient.args[0];
  REQUIRE(product.op == '*');
  const Expr& power = *product.args[1];
  REQUIRE(power.op == '^');
  CHECK(power.args[0]->value == 2);
  REQUIRE(power.args[1]->op == '^');
  CHECK(power.args[1]->args[1]->value == 0.5);
  CHECK(e.loc.line == 2);
  CHECK(e.loc.col == 24);
}

TEST_CASE("statements may be separated by semicolons; base defaults to normal", "[frontend]") {
  const FlowSpec spec = checked(
      "flow f(dim = 4) { permute reverse; permute [1, 0, 3, 2]; map { z0 = x0; z1 = x1; "
      "z2 = x2; z3 = x3 } }");
  CHECK(spec.base == nfc::BaseDistribution::standard_normal);
  CHECK(spec.layers.size() == 3);
  CHECK(perm(spec, 1) == Ints{1, 0, 3, 2});
}

TEST_CASE("long lists and expressions may span lines inside brackets", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 3) {
  permute [2,
           0, 1]
  map {
    z0 = (x0 +
          1)
    z1 = x1; z2 = x2
  }
})");
  CHECK(perm(spec, 0) == Ints{2, 0, 1});
}
