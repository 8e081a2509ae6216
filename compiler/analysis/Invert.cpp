// Peels invertible operations off `expr = target`, outermost first.
#include "compiler/analysis/Invert.hpp"

#include <cmath>
#include <vector>

#include "compiler/analysis/Derive.hpp"
#include "compiler/ir/Program.hpp"

namespace nfc {

// Every unary op is listed (a new one must be decided here); the others
// come from Ops.def.
NodeId invert_unary(Graph& g, Op op, NodeId y) {
  const Ex t{&g, y};
  switch (op) {
    case Op::neg:
      return (-t).id;
    case Op::exp:
      return apply(Op::log, t).id;
    case Op::log:
      return apply(Op::exp, t).id;
    case Op::log1p:
      return apply(Op::expm1, t).id;
    case Op::expm1:
      return apply(Op::log1p, t).id;
    case Op::tanh:
      return apply(Op::atanh, t).id;
    case Op::atanh:
      return apply(Op::tanh, t).id;
    case Op::sigmoid:
      return apply(Op::logit, t).id;
    case Op::logit:
      return apply(Op::sigmoid, t).id;
    case Op::sinh:
      return apply(Op::asinh, t).id;
    case Op::asinh:
      return apply(Op::sinh, t).id;
    case Op::softplus:  // log(e^y - 1) = y + log(-expm1(-y)), stable for large y
      return (t + apply(Op::log, -apply(Op::expm1, -t))).id;
    case Op::sqrt:  // sqrt is increasing on its domain [0, inf)
      return (t * t).id;
    case Op::atan:  // onto (-pi/2, pi/2), where tan is its inverse
      return apply(Op::tan, t).id;
    case Op::tan:  // on its principal branch
      return apply(Op::atan, t).id;
    case Op::erf:
      return apply(Op::erfinv, t).id;
    case Op::erfinv:
      return apply(Op::erf, t).id;
    case Op::asin:  // onto [-pi/2, pi/2], where sin is increasing
      return apply(Op::sin, t).id;
    case Op::acos:  // onto [0, pi], where cos is decreasing
      return apply(Op::cos, t).id;
    case Op::acosh:  // onto [0, inf), where cosh is increasing
      return apply(Op::cosh, t).id;
    case Op::cbrt:
      return (t * t * t).id;
    case Op::log2:  // 2^t
      return apply(Op::exp, t * M_LN2).id;
    case Op::abs:
    case Op::cosh:
    case Op::sin:  // periodic: no inverse on R
    case Op::cos:
    case Op::sign:
    case Op::erfc:
    case Op::relu:
    case Op::elu:
    case Op::gelu:
#define NFC_UNARY(o, spelling, formula)
#define NFC_BINARY(o, spelling, formula) case Op::o:
#define NFC_TERNARY(o, spelling, formula) case Op::o:
#define NFC_SPECIAL(o, spelling) case Op::o:
#include "compiler/ir/Ops.def"
      return -1;
  }
  return -1;
}

namespace {

// `a op b = t` with exactly one side depending on wrt: the new target for
// that side.
NodeId invert_binary(Graph& g, Op op, bool left, NodeId a, NodeId b, NodeId target) {
  const Ex t{&g, target}, ea{&g, a}, eb{&g, b};
  switch (op) {
    case Op::add:  // a + b = t
      return (left ? t - eb : t - ea).id;
    case Op::sub:  // a - b = t
      return (left ? t + eb : ea - t).id;
    case Op::mul:  // a * b = t
      return (left ? t / eb : t / ea).id;
    case Op::div:  // a / b = t
      return (left ? t * eb : ea / t).id;
    case Op::pow:  // odd integer powers are peeled by solve_for (odd_root)
#define NFC_UNARY(o, spelling, formula) case Op::o:
#define NFC_BINARY(o, spelling, formula)
#define NFC_TERNARY(o, spelling, formula) case Op::o:
#define NFC_SPECIAL(o, spelling) case Op::o:
#include "compiler/ir/Ops.def"
      return -1;
  }
  return -1;
}

bool is_odd_integer(const Graph& g, NodeId id) {
  if (!g.is_constant(id)) return false;
  const double k = g.node(id).value;
  return k == std::floor(k) && std::fmod(std::fabs(k), 2) == 1;
}

// a^k = t for odd k: a = sign(t) |t|^(1/k), as a select so both signs work.
NodeId odd_root(Graph& g, NodeId t, double k) {
  const NodeId pos = g.binary(Op::pow, t, g.constant(1 / k));
  const NodeId neg = g.unary(Op::neg, g.binary(Op::pow, g.unary(Op::neg, t), g.constant(1 / k)));
  return g.select_pos(t, pos, neg);
}

// Which nodes of `expr` depend on `wrt`, found in one pass (asking
// depends_on at every peeled op would make a chain of n lets O(n^2)).
std::vector<char> dependents(const Graph& g, NodeId expr, NodeId wrt) {
  std::vector<char> dep(g.size(), 0);
  for (NodeId id : topological_order(g, {expr})) {
    bool d = id == wrt;
    for (NodeId a : g.node(id).args) d = d || dep[static_cast<size_t>(a)];
    dep[static_cast<size_t>(id)] = d;
  }
  return dep;
}

}  // namespace

Inversion solve_for(Graph& g, NodeId expr, NodeId wrt, NodeId target) {
  // The peeled operands are nodes of the original expression: `dep` covers
  // them, though peeling adds nodes to g.
  const std::vector<char> dep = dependents(g, expr, wrt);
  auto depends = [&](NodeId id) { return dep[static_cast<size_t>(id)] != 0; };
  while (expr != wrt) {
    const Node n = g.node(expr);
    const int arity = elementwise_arity(n.op);
    if (arity == 1) {
      const NodeId next = invert_unary(g, n.op, target);
      if (next < 0) return {-1, std::string("'") + op_spelling(n.op) + "' is not invertible"};
      target = next;
      expr = n.args[0];
      continue;
    }
    if (arity == 2) {
      const bool in_a = depends(n.args[0]);
      const bool in_b = depends(n.args[1]);
      if (in_a && in_b) return {-1, "the input occurs more than once"};
      if (n.op == Op::pow && in_a && is_odd_integer(g, n.args[1])) {
        target = odd_root(g, target, g.node(n.args[1]).value);
        expr = n.args[0];
        continue;
      }
      const NodeId next = invert_binary(g, n.op, in_a, n.args[0], n.args[1], target);
      if (next < 0)
        return {-1, std::string("'") + op_spelling(n.op) + "' of the input is not invertible"};
      target = next;
      expr = in_a ? n.args[0] : n.args[1];
      continue;
    }
    if (!depends(expr)) return {-1, "the output does not depend on the input"};
    return {-1, std::string("'") + op_spelling(n.op) + "' is not invertible"};
  }
  return {target, {}};
}

}  // namespace nfc
