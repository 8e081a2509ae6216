// Source expressions into graph nodes.
#include "compiler/LowerExpr.hpp"

#include <string_view>

#include "dsl/Diagnostics.hpp"

namespace nfc {

namespace {

Op function_op(std::string_view name) {
  static const std::unordered_map<std::string_view, Op> ops = {
      {"exp", Op::exp},           {"log", Op::log},         {"log1p", Op::log1p},
      {"expm1", Op::expm1},       {"sqrt", Op::sqrt},       {"tanh", Op::tanh},
      {"atanh", Op::atanh},       {"sigmoid", Op::sigmoid}, {"logit", Op::logit},
      {"softplus", Op::softplus}, {"sinh", Op::sinh},       {"asinh", Op::asinh},
  };
  auto it = ops.find(name);
  if (it == ops.end()) throw InternalError("unknown function reached the graph builder");
  return it->second;
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

}  // namespace

NodeId lower_expr(Graph& g, const Expr& e, const NameEnv& env) {
  switch (e.kind) {
    case Expr::Kind::number:
      return g.constant(e.value);
    case Expr::Kind::name: {
      auto it = env.find(e.name);
      if (it == env.end()) throw InternalError("unbound name '" + e.name + "' reached the graph");
      return it->second;
    }
    case Expr::Kind::neg:
      return g.unary(Op::neg, lower_expr(g, *e.args[0], env));
    case Expr::Kind::binary:
      return g.binary(binary_op(e.op), lower_expr(g, *e.args[0], env),
                      lower_expr(g, *e.args[1], env));
    case Expr::Kind::call:
      return g.unary(function_op(e.name), lower_expr(g, *e.args[0], env));
  }
  throw InternalError("unknown expression kind");
}

}  // namespace nfc
