// The factory's simplifications, input -> expected printed form, and
// interning (equal expressions are one node).
#include <catch2/catch.hpp>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Invert.hpp"
#include "compiler/ir/Print.hpp"

using namespace nfc;

namespace {

struct Vars {
  Graph g;
  Ex x{&g, g.var(g.add_var_name("x"))};
  Ex s{&g, g.var(g.add_var_name("s"))};
  Ex t{&g, g.var(g.add_var_name("t"))};
  std::string show(Ex e) { return to_infix(g, e.id); }
};

}  // namespace

TEST_CASE("constants fold and identities vanish", "[simplify]") {
  Vars v;
  CHECK(v.show(v.x * 1.0) == "x");
  CHECK(v.show(1.0 * v.x + 0.0) == "x");
  CHECK(v.show(v.x - 0.0) == "x");
  CHECK(v.show(0.0 * v.x) == "0");
  CHECK(v.show(v.x - v.x) == "0");
  CHECK(v.show(v.x / v.x) == "1");
  CHECK(v.show(v.x / 1.0) == "x");
  CHECK(v.show(-(-v.x)) == "x");
  CHECK(v.show(Ex{&v.g, v.g.constant(2)} * 3.0 + 1.0) == "7");
  CHECK(v.show(apply(Op::exp, Ex{&v.g, v.g.constant(0)})) == "1");
  CHECK(v.show(pow(v.x, 1)) == "x");
  CHECK(v.show(pow(v.x, 0)) == "1");
  CHECK(v.show(v.x + v.x) == "2 * x");
  CHECK(v.show(2.0 * (3.0 * v.x)) == "6 * x");
  CHECK(v.show(v.x + (-v.s)) == "x - s");
  CHECK(v.show((v.x + v.t) - v.t) == "x");
}

TEST_CASE("inverse pairs cancel and logs of positive products split", "[simplify]") {
  Vars v;
  CHECK(v.show(apply(Op::log, apply(Op::exp, v.s))) == "s");
  CHECK(v.show(apply(Op::tanh, apply(Op::atanh, v.x))) == "x");
  CHECK(v.show(apply(Op::sigmoid, apply(Op::logit, v.x))) == "x");
  CHECK(v.show(apply(Op::asinh, apply(Op::sinh, v.x))) == "x");
  CHECK(v.show(apply(Op::log1p, apply(Op::expm1, v.x))) == "x");
  CHECK(v.show(apply(Op::abs, apply(Op::exp, v.s))) == "exp(s)");
  CHECK(v.show(apply(Op::abs, -apply(Op::sigmoid, v.s))) == "sigmoid(s)");
  CHECK(v.show(apply(Op::log, apply(Op::abs, apply(Op::exp, v.s) * apply(Op::exp, v.t)))) ==
        "s + t");
  CHECK(v.show(apply(Op::log, apply(Op::abs, 2.0 * apply(Op::exp, v.s)))) ==
        "0.6931471805599453 + s");
  CHECK(v.show(v.x / apply(Op::exp, v.s)) == "x * exp(-s)");
  CHECK(v.show(apply(Op::exp, v.s) * apply(Op::exp, v.t)) == "exp(s + t)");
}

TEST_CASE("equal expressions are one node", "[simplify]") {
  Vars v;
  CHECK((v.x + v.s).id == (v.s + v.x).id);
  CHECK((v.x * v.s).id == (v.s * v.x).id);
  CHECK((apply(Op::exp, v.s) * v.x + v.t).id == (v.t + v.x * apply(Op::exp, v.s)).id);
  const size_t before = v.g.size();
  (void)(apply(Op::exp, v.s) * v.x + v.t);
  CHECK(v.g.size() == before);
}

TEST_CASE("structural ops compose", "[simplify]") {
  Graph g;
  const NodeId in = g.input(0, 5);
  CHECK(g.gather(in, {0, 1, 2, 3, 4}) == in);
  CHECK(g.gather(g.gather(in, {4, 3, 2}), {2, 0}) == g.gather(in, {2, 4}));
  CHECK(g.concat({g.gather(in, {0, 1}), g.gather(in, {2, 3, 4})}) == in);
  const NodeId a = g.unary(Op::exp, g.gather(in, {1}));
  const NodeId cat = g.concat({g.gather(in, {0}), a});
  CHECK(g.gather(cat, {1}) == a);
  CHECK(g.sum(a) == a);
}

TEST_CASE("the affine transform derives to its textbook rules", "[simplify]") {
  Vars v;
  const Ex body = v.x * apply(Op::exp, v.s) + v.t;
  const NodeId d = derivative(v.g, body.id, v.x.id);
  CHECK(to_infix(v.g, d) == "exp(s)");
  CHECK(to_infix(v.g, v.g.unary(Op::log, v.g.unary(Op::abs, d))) == "s");
  const Ex z{&v.g, v.g.var(v.g.add_var_name("z"))};
  const Inversion inv = solve_for(v.g, body.id, v.x.id, z.id);
  REQUIRE(inv.ok());
  CHECK(to_infix(v.g, inv.value) == "(z - t) * exp(-s)");
}

TEST_CASE("exp(log a) cancels only where a >= 0 is proved", "[simplify]") {
  Vars v;
  CHECK(v.show(apply(Op::exp, apply(Op::log, apply(Op::softplus, v.x)))) == "softplus(x)");
  CHECK(v.show(apply(Op::exp, apply(Op::log, v.x))) == "exp(log(x))");
}

// A DAG whose nodes use the one before twice has 2^n paths: printing it as
// a tree, or distributing abs over its products path by path, would take
// 2^n steps. Both stay linear, and printing is cut with "…".
TEST_CASE("shared subexpressions: folding and printing stay linear", "[simplify]") {
  Vars v;
  Ex a = v.x;
  for (int i = 0; i < 200; ++i) a = a * a * 0.001 + a;
  const std::string text = v.show(a);
  // 400 characters, then at most one "…" with its operator and parentheses
  // for each of the (at most 64) expressions still open.
  CHECK(text.size() < 400 + 64 * 12);
  CHECK(text.find("\u2026") != std::string::npos);
  CHECK(v.show(v.x * apply(Op::exp, v.s) + v.t) == "t + x * exp(s)");  // short ones whole

  Ex p = v.x;  // |p| with p a product DAG: |a*b| = |a|*|b| on every factor
  for (int i = 0; i < 200; ++i) p = p * p;
  const NodeId before = static_cast<NodeId>(v.g.size());
  v.g.unary(Op::abs, p.id);
  CHECK(static_cast<NodeId>(v.g.size()) - before <= 2 * 200 + 2);
}

TEST_CASE("a chain of 10000 products folds without deep recursion", "[simplify]") {
  Vars v;
  Ex p = v.x;
  for (int i = 0; i < 10000; ++i) p = p * apply(Op::exp, v.s);
  // log(|p|): abs and log rewrite through the products, but only so deep.
  const NodeId l = v.g.unary(Op::log, v.g.unary(Op::abs, p.id));
  CHECK(v.g.node(l).op != Op::constant);
  CHECK(v.show(Ex{&v.g, l}).size() < 400 + 64 * 12);
}
