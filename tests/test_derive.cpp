// Derivative rules of every elementwise op against finite differences, and
// analytic inverses against the forward op, evaluated by the reference
// interpreter.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Invert.hpp"
#include "compiler/backend/interp/Interpreter.hpp"

using namespace nfc;

namespace {

// Points inside each op's domain where it is smooth (relu/elu/abs/
// select_pos away from their kink at 0).
std::vector<double> sample_points(Op op) {
  switch (op) {
    case Op::log:
    case Op::log2:
    case Op::sqrt:
      return {0.3, 1.7, 12.0};
    case Op::asin:
    case Op::acos:
      return {-0.85, -0.3, 0.15, 0.85};
    case Op::acosh:
      return {1.2, 2.5, 9.0};
    case Op::log1p:
      return {-0.6, 0.4, 9.0};
    case Op::atanh:
    case Op::logit:
      return {0.15, 0.5, 0.85};
    case Op::erfinv:
      return {-0.95, -0.4, 0.15, 0.9};
    default:
      return {-2.1, -0.4, 0.7, 1.9};
  }
}

double eval1(Graph& g, NodeId input, NodeId out, double x) {
  return interpret(g, EntryPoint{"f", input, {out}}, {}, {x})[0][0];
}

// Central difference; step relative to |x| so its truncation error (~h^2 f''')
// and rounding error (~eps f / h) are both near 1e-10 for these functions.
double central_difference(Graph& g, NodeId input, NodeId out, double x) {
  const double h = 1e-5 * (1 + std::fabs(x));
  return (eval1(g, input, out, x + h) - eval1(g, input, out, x - h)) / (2 * h);
}

// Every elementwise op of Ops.def, as a function of one input.
std::vector<std::pair<std::string, NodeId>> every_op(Graph& g, NodeId x) {
  std::vector<std::pair<std::string, NodeId>> fns;
  const NodeId c = g.constant(0.7);
  for (int k = 0; k <= static_cast<int>(Op::select_pos); ++k) {
    const Op op = static_cast<Op>(k);
    const std::string name = op_spelling(op);
    switch (elementwise_arity(op)) {
      case 1:
        fns.push_back({name, g.unary(op, x)});
        break;
      case 2:  // x op c, c op x, and x op x exercise both operand rules
        fns.push_back({name + " left", g.binary(op, x, c)});
        fns.push_back({name + " right", g.binary(op, c, g.unary(Op::exp, x))});
        fns.push_back({name + " both", g.binary(op, g.unary(Op::exp, x), g.unary(Op::sigmoid, x))});
        break;
      case 3:
        fns.push_back({name, g.select_pos(x, g.unary(Op::sinh, x), g.unary(Op::exp, x))});
        break;
    }
  }
  return fns;
}

}  // namespace

TEST_CASE("derivative rules match central differences for every op", "[derive]") {
  Graph g;
  const NodeId x = g.input(0, 1);
  for (const auto& [name, f] : every_op(g, x)) {
    const Op op = g.node(f).op;
    const NodeId d = derivative(g, f, x);
    // x^0.7 is real for x > 0 only
    const auto points = name == "^ left" ? std::vector<double>{0.3, 1.7} : sample_points(op);
    for (double p : points) {
      INFO(name << " at " << p);
      const double exact = eval1(g, x, d, p);
      const double numeric = central_difference(g, x, f, p);
      // FD error ~1e-10 relative (see central_difference); 1e-7 leaves room
      // for functions with large third derivatives (exp(exp(x)) at 1.9).
      CHECK(exact == Approx(numeric).epsilon(1e-7).margin(1e-9));
    }
  }
}

TEST_CASE("derivative of a composite is the chain rule", "[derive]") {
  Graph g;
  const NodeId x = g.input(0, 1);
  const Ex ex{&g, x};
  // z = sinh(1.3 asinh(x) - 0.2) / (1 + x^2) + x^3
  const Ex z = apply(Op::sinh, 1.3 * apply(Op::asinh, ex) - 0.2) / (1.0 + ex * ex) + pow(ex, 3);
  const NodeId d = derivative(g, z.id, x);
  for (double p : {-1.5, 0.2, 2.5})
    CHECK(eval1(g, x, d, p) == Approx(central_difference(g, x, z.id, p)).epsilon(1e-8));
}

TEST_CASE("derived inverses undo every invertible op", "[derive]") {
  Graph g;
  const NodeId x = g.var(g.add_var_name("x"));
  const NodeId zin = g.input(0, 1);
  const Op invertible[] = {Op::neg,   Op::exp,      Op::log,     Op::log1p, Op::expm1,
                           Op::tanh,  Op::atanh,    Op::sigmoid, Op::logit, Op::sinh,
                           Op::asinh, Op::softplus, Op::sqrt,    Op::atan,  Op::asin,
                           Op::acos,  Op::acosh,    Op::cbrt,    Op::log2};
  for (Op op : invertible) {
    // z = 0.5 + 2 * op(x) / 3 - 0.1: the op inside a chain of + - * /
    const Ex body = 0.5 + 2.0 * apply(op, Ex{&g, x}) / 3.0 - 0.1;
    const Inversion inv = solve_for(g, body.id, x, zin);
    REQUIRE(inv.ok());
    for (double p : sample_points(op)) {
      INFO(op_spelling(op) << " at " << p);
      const NodeId forward = substitute(g, body.id, {{x, g.input(1, 1)}});
      const double zval = eval1(g, g.input(1, 1), forward, p);
      CHECK(eval1(g, zin, inv.value, zval) == Approx(p).epsilon(1e-12).margin(1e-12));
    }
  }
}

TEST_CASE("inversion fails with a reason where no analytic inverse exists", "[derive]") {
  Graph g;
  const NodeId x = g.var(g.add_var_name("x"));
  const NodeId z = g.var(g.add_var_name("z"));
  const Ex ex{&g, x};
  CHECK(solve_for(g, (ex * apply(Op::exp, ex)).id, x, z).failure ==
        "the input occurs more than once");
  CHECK(solve_for(g, apply(Op::abs, ex).id, x, z).failure == "'abs' is not invertible");
  CHECK(solve_for(g, apply(Op::relu, ex + 1.0).id, x, z).failure == "'relu' is not invertible");
}

TEST_CASE("the solve op inverts monotone functions without a closed form", "[derive]") {
  Graph g;
  const NodeId x = g.var(g.add_var_name("x"));
  const NodeId t = g.input(0, 3);
  const Ex ex{&g, x};
  // Increasing, decreasing, and one with a huge root: the bracket must grow.
  struct Case {
    Ex f;
    double lo, hi;
  };
  const Case cases[] = {
      {ex + 0.5 * apply(Op::tanh, ex), -50, 50},
      {-(ex * ex * ex) - ex, -30, 30},
      {apply(Op::asinh, ex) + 1e-3 * ex, -1e6, 1e6},
  };
  for (const Case& c : cases) {
    const NodeId d = derivative(g, c.f.id, x);
    const NodeId root = g.solve(t, c.f.id, d, x);
    for (double target_scale : {0.1, 1.0, 0.9}) {
      // Targets f(x0) for known x0, as a vector of three lanes.
      std::vector<double> xs = {c.lo * target_scale, 0.37, c.hi * target_scale}, ts;
      for (double x0 : xs)
        ts.push_back(eval1(g, g.input(1, 1), substitute(g, c.f.id, {{x, g.input(1, 1)}}), x0));
      const auto out = interpret(g, EntryPoint{"solve", t, {root}}, {}, ts)[0];
      for (size_t k = 0; k < xs.size(); ++k)
        CHECK(out[k] == Approx(xs[k]).epsilon(1e-12).margin(1e-12));
    }
  }
}

TEST_CASE("odd integer powers invert for both signs", "[derive]") {
  Graph g;
  const NodeId x = g.var(g.add_var_name("x"));
  const NodeId z = g.input(0, 1);
  for (double k : {3.0, 5.0, -3.0}) {
    const Ex body = 2.0 * pow(Ex{&g, x}, k) + 0.5;
    const Inversion inv = solve_for(g, body.id, x, z);
    REQUIRE(inv.ok());
    for (double p : {-1.7, -0.3, 0.4, 2.2}) {
      INFO("x^" << k << " at " << p);
      const double zval = 2 * std::pow(p, k) + 0.5;
      CHECK(eval1(g, z, inv.value, zval) == Approx(p).epsilon(1e-12));
    }
  }
}
