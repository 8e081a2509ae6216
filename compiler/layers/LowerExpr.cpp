// Source expressions into graph nodes.
#include "compiler/layers/LowerExpr.hpp"

#include <string_view>

#include "support/InternalError.hpp"

namespace nfc {

namespace {

// A one-argument function of .nf (dsl/Expr.hpp: kExprFunctions) is the
// unary op of Ops.def with that spelling.
Op function_op(std::string_view name) {
#define NFC_UNARY(o, spelling, formula) \
  if (name == spelling) return Op::o;
#include "compiler/ir/Ops.def"
  throw InternalError("unknown function reached the graph builder");
}

Op binary_op(char op) {
  switch (op) {
    case '+':
      return Op::add;
    case '-':
      return Op::sub;
    case '*':
      return Op::mul;
    case '/':
      return Op::div;
    case '^':
      return Op::pow;
  }
  throw InternalError("unknown binary operator reached the graph builder");
}

// where(a OP b, p, q) as one select_pos(c, if_true, if_false), which picks
// its first branch where c > 0: a < b is b - a > 0; a <= b is "not a > b";
// a == b is "not |a - b| > 0".
NodeId lower_where(Graph& g, const Expr& cond, NodeId p, NodeId q, const NameEnv& env,
                   const TableEnv* tables) {
  internal_check(cond.kind == Expr::Kind::compare, "where() needs a comparison");
  const NodeId a = lower_expr(g, *cond.args[0], env, tables),
               b = lower_expr(g, *cond.args[1], env, tables);
  switch (cond.op) {
    case '<':
      return g.select_pos(g.binary(Op::sub, b, a), p, q);
    case '>':
      return g.select_pos(g.binary(Op::sub, a, b), p, q);
    case 'l':
      return g.select_pos(g.binary(Op::sub, a, b), q, p);
    case 'g':
      return g.select_pos(g.binary(Op::sub, b, a), q, p);
    case '=':
      return g.select_pos(g.unary(Op::abs, g.binary(Op::sub, a, b)), q, p);
    case '!':
      return g.select_pos(g.unary(Op::abs, g.binary(Op::sub, a, b)), p, q);
  }
  throw InternalError("unknown comparison reached the graph builder");
}

// dot(X, v) with a table X: one value per row; dot(u, v) = sum(u * v).
NodeId lower_dot(Graph& g, const Expr& e, const NameEnv& env, const TableEnv* tables) {
  const Expr& u = *e.args[0];
  const NodeId v = lower_expr(g, *e.args[1], env, tables);
  if (tables && u.kind == Expr::Kind::name)
    if (const auto it = tables->find(u.name); it != tables->end())
      return g.matvec(it->second.matrix, v, it->second.rows, it->second.cols);
  return g.sum(g.binary(Op::mul, lower_expr(g, u, env, tables), v));
}

NodeId lower_call(Graph& g, const Expr& e, const NameEnv& env, const TableEnv* tables) {
  auto arg = [&](size_t i) { return lower_expr(g, *e.args[i], env, tables); };
  if (e.name == "where") return lower_where(g, *e.args[0], arg(1), arg(2), env, tables);
  if (e.name == "min") return min_of(g, arg(0), arg(1));
  if (e.name == "max") return max_of(g, arg(0), arg(1));
  if (e.name == "sum") return g.sum(arg(0));
  if (e.name == "dot") return lower_dot(g, e, env, tables);
  if (e.name == "logaddexp") {  // max(a, b) + log1p(exp(-|a - b|)): never overflows
    const NodeId a = arg(0), b = arg(1);
    const NodeId gap = g.unary(Op::abs, g.binary(Op::sub, a, b));
    return g.binary(Op::add, max_of(g, a, b),
                    g.unary(Op::log1p, g.unary(Op::exp, g.unary(Op::neg, gap))));
  }
  if (e.name == "clamp") return min_of(g, max_of(g, arg(0), arg(1)), arg(2));
  return g.unary(function_op(e.name), arg(0));
}

}  // namespace

NodeId lower_expr(Graph& g, const Expr& e, const NameEnv& env, const TableEnv* tables) {
  switch (e.kind) {
    case Expr::Kind::number:
      return g.constant(e.value);
    case Expr::Kind::name: {
      auto it = env.find(e.name);
      if (it == env.end()) throw InternalError("unbound name '" + e.name + "' reached the graph");
      return it->second;
    }
    case Expr::Kind::index: {
      auto it = env.find(e.name);
      if (it == env.end()) throw InternalError("unbound name '" + e.name + "' reached the graph");
      return g.gather(it->second, {static_cast<int>(e.value)});
    }
    case Expr::Kind::neg:
      return g.unary(Op::neg, lower_expr(g, *e.args[0], env, tables));
    case Expr::Kind::binary:
      return g.binary(binary_op(e.op), lower_expr(g, *e.args[0], env, tables),
                      lower_expr(g, *e.args[1], env, tables));
    case Expr::Kind::call:
      return lower_call(g, e, env, tables);
    case Expr::Kind::compare:
      throw InternalError("a comparison outside where() reached the graph builder");
  }
  throw InternalError("unknown expression kind");
}

NodeId min_of(Graph& g, NodeId a, NodeId b) {
  return g.select_pos(g.binary(Op::sub, b, a), a, b);  // a where a < b
}

NodeId max_of(Graph& g, NodeId a, NodeId b) {
  return g.select_pos(g.binary(Op::sub, a, b), a, b);  // a where a > b
}

}  // namespace nfc
