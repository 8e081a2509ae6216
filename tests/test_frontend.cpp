// Front end on valid models: the FlowSpec it builds (repeats unrolled, masks
// and permutations explicit, rewrites and map outputs captured).
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <numeric>
#include <sstream>
#include <string>

#include "compiler/sema/Frontend.hpp"
#include "compiler/sema/Permutations.hpp"

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
  CHECK(spec.base.kind == nfc::BaseKind::standard_normal);
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
  REQUIRE(spec.transforms.size() == 5);
  CHECK(spec.transforms[0].name == "affine");
  CHECK(spec.transforms[0].params == std::vector<std::string>{"s", "t"});
  CHECK(spec.transforms[1].name == "additive");
  CHECK(spec.transforms[2].name == "standardize");
  CHECK(spec.transforms[2].params == std::vector<std::string>{"mean", "log_scale"});
  CHECK(spec.transforms[3].name == "affine2");
  CHECK(spec.transforms[3].input == "x");
  CHECK(spec.transforms[4].name == "shift");
  CHECK(coupling(spec, 0).transformer.transform == 0);
  CHECK(coupling(spec, 9).transformer.transform == 4);
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
  CHECK(spec.base.kind == nfc::BaseKind::standard_normal);
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

namespace {

using nfc::ParamDecl;

const char* const kBanana = R"(flow banana(dim = 2, base = normal) {
  param a = 1.0 positive, b = 0.5            # flow-level: every map may use them
  map {
    param c = 0.2 (-1, 1)                    # map-local
    param w[2] = 0.1                         # vector: 2 elements, all 0.1
    param v = [0.5, -0.25]                   # vector from a list
    let r = x0 / a                           # lets in order
    z0 = r
    z1 = x1 * a - b * (x0^2 + a^2) + where(x0 > 0, c * x0, 0) + w[1] * v[0]
  }
}
)";

const MapSpec& map_of(const FlowSpec& spec, size_t layer) {
  REQUIRE(std::holds_alternative<MapSpec>(spec.layers.at(layer).kind));
  return std::get<MapSpec>(spec.layers[layer].kind);
}

// The first subexpression of `e` (preorder) of kind `kind`, or null.
const Expr* find_kind(const Expr& e, Expr::Kind kind) {
  if (e.kind == kind) return &e;
  for (const nfc::ExprPtr& arg : e.args) {
    if (const Expr* found = find_kind(*arg, kind)) return found;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("flow and map parameters keep their constraint, initial values and shape", "[frontend]") {
  const FlowSpec spec = checked(kBanana);
  REQUIRE(spec.params.size() == 2);
  const ParamDecl& a = spec.params[0];
  CHECK(a.name == "a");
  CHECK(a.constraint == ParamDecl::Constraint::positive);
  CHECK(a.init == std::vector<double>{1.0});
  CHECK_FALSE(a.is_vector);
  CHECK(a.loc.line == 2);
  CHECK(a.loc.col == 9);
  const ParamDecl& b = spec.params[1];
  CHECK(b.name == "b");
  CHECK(b.constraint == ParamDecl::Constraint::none);
  CHECK(b.init == std::vector<double>{0.5});

  REQUIRE(spec.layers.size() == 1);
  const MapSpec& map = map_of(spec, 0);
  REQUIRE(map.params.size() == 3);
  const ParamDecl& c = map.params[0];
  CHECK(c.name == "c");
  CHECK(c.constraint == ParamDecl::Constraint::interval);
  CHECK(c.lo == -1);
  CHECK(c.hi == 1);
  CHECK(c.init == std::vector<double>{0.2});
  CHECK_FALSE(c.is_vector);
  CHECK(map.params[1].name == "w");
  CHECK(map.params[1].is_vector);
  CHECK(map.params[1].init == std::vector<double>{0.1, 0.1});
  CHECK(map.params[2].name == "v");
  CHECK(map.params[2].is_vector);
  CHECK(map.params[2].init == std::vector<double>{0.5, -0.25});
  CHECK(map.params[2].loc.line == 6);

  REQUIRE(map.lets.size() == 1);
  CHECK(map.lets[0].name == "r");
  CHECK(map.lets[0].expr->op == '/');
  CHECK(map.lets[0].loc.line == 7);
  REQUIRE(map.outputs.size() == 2);
  CHECK(map.outputs[0]->kind == Expr::Kind::name);
  CHECK(map.outputs[0]->name == "r");
  const Expr* where = find_kind(*map.outputs[1], Expr::Kind::call);
  REQUIRE(where);
  CHECK(where->name == "where");
  REQUIRE(where->args.size() == 3);
  CHECK(where->args[0]->kind == Expr::Kind::compare);
  CHECK(where->args[0]->op == '>');
  const Expr* index = find_kind(*map.outputs[1], Expr::Kind::index);
  REQUIRE(index);
  CHECK(index->name == "w");
  CHECK(index->value == 1);
  CHECK(index->loc.length == 4);  // w[1]
}

TEST_CASE("vector forms: a size with one value, a list, or both when they agree", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 1) {
  param w[3] = -2, v = [1, 2e-1], u[2] = [0.5, 0.75] (0, 1), s = [3]
  map { z0 = x0 * exp(w[0] + w[2] + v[1] + u[1] + s[0]) }
})");
  REQUIRE(spec.params.size() == 4);
  CHECK(spec.params[0].init == std::vector<double>{-2, -2, -2});
  CHECK(spec.params[1].init == std::vector<double>{1, 0.2});
  CHECK(spec.params[2].init == std::vector<double>{0.5, 0.75});
  CHECK(spec.params[2].constraint == ParamDecl::Constraint::interval);
  CHECK(spec.params[3].is_vector);  // a one-element list is still a vector
  CHECK(spec.params[3].init == std::vector<double>{3});
}

TEST_CASE("lets keep source order; params may sit anywhere in the flow or map", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 2) {
  coupling affine(mask = alternate)
  param k = 2
  map {
    let p = x0 * k
    z0 = p
    let q = p + m
    param m = 0.5 positive
    let s = q * q
    z1 = x1 + s
  }
  param late = 1 (0, 3)
  repeat 2 { map { param h = 1; z0 = x0; z1 = x1 * h * late } }
})");
  CHECK(spec.params.size() == 2);
  CHECK(spec.params[0].name == "k");
  CHECK(spec.params[1].name == "late");
  REQUIRE(spec.layers.size() == 4);
  const MapSpec& map = map_of(spec, 1);
  std::vector<std::string> lets;
  for (const auto& let : map.lets) lets.push_back(let.name);
  CHECK(lets == std::vector<std::string>{"p", "q", "s"});
  REQUIRE(map.params.size() == 1);
  CHECK(map.params[0].name == "m");
  // Each unrolled copy of a map has its own parameters.
  CHECK(map_of(spec, 2).params.size() == 1);
  CHECK(map_of(spec, 3).params.size() == 1);
  CHECK(map_of(spec, 3).params[0].name == "h");
}

TEST_CASE("comparisons bind loosest and map to their op codes", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 2) {
  map {
    z0 = x0 + where(x0 + 1 < 2 * x1, 1, 0) + where(x0 <= 1, 1, 0) + where(x0 > 1, 1, 0)
    z1 = x1 + where(x0 >= 1, 1, 0) + where(x0 == 1, 1, 0) + where(x0 != 1, 1, 0)
  }
})");
  const MapSpec& map = map_of(spec, 0);
  std::vector<char> ops;
  std::function<void(const Expr&)> walk = [&](const Expr& e) {
    if (e.kind == Expr::Kind::compare) ops.push_back(e.op);
    for (const auto& arg : e.args) walk(*arg);
  };
  walk(*map.outputs[0]);
  walk(*map.outputs[1]);
  CHECK(ops == std::vector<char>{'<', 'l', '>', 'g', '=', '!'});
  const Expr* cmp = find_kind(*map.outputs[0], Expr::Kind::compare);
  REQUIRE(cmp);
  CHECK(cmp->args[0]->op == '+');  // (x0 + 1) < (2 * x1)
  CHECK(cmp->args[1]->op == '*');
}

TEST_CASE("min, max, clamp and abs are calls with their arity", "[frontend]") {
  const FlowSpec spec = checked(R"(flow f(dim = 2) {
  map { z0 = x0 + abs(min(x0, 1)) + max(0, -1); z1 = clamp(x1, -3, 3) + x0 }
})");
  const MapSpec& map = map_of(spec, 0);
  const Expr* clamp = find_kind(*map.outputs[1], Expr::Kind::call);
  REQUIRE(clamp);
  CHECK(clamp->name == "clamp");
  CHECK(clamp->args.size() == 3);
}

TEST_CASE("base = uniform is accepted with every layer kind", "[frontend]") {
  const FlowSpec spec = checked(R"(flow cdf(dim = 2, base = uniform) {
  coupling affine(mask = alternate)
  permute reverse
  map { z0 = sigmoid(x0); z1 = sigmoid(x1) }
})");
  CHECK(spec.base.kind == nfc::BaseKind::uniform);
  CHECK(spec.layers.size() == 3);
}

TEST_CASE("warnings are reported but do not make a model invalid", "[frontend]") {
  const std::string source =
      "flow f(dim = 1) {\n  param unused = 1\n  map { let t = 2; z0 = x0 }\n}\n";
  nfc::Diagnostics diags("w.nf", source);
  const std::optional<FlowSpec> spec = nfc::check_source(source, diags);
  CHECK(spec.has_value());
  CHECK_FALSE(diags.has_errors());
  REQUIRE(diags.all().size() == 2);
  CHECK(diags.all()[0].severity == nfc::Diagnostic::Severity::warning);
  CHECK(diags.all()[0].message == "parameter 'unused' is never used");
  CHECK(diags.all()[1].message == "let 't' is never used");
  std::ostringstream printed;
  diags.print(printed);
  CHECK(printed.str().rfind("w.nf:2:9: warning: parameter 'unused' is never used\n", 0) == 0);
}
