// One derivative rule per op, each with the identity it implements.
#include "compiler/analysis/Derive.hpp"

#include <cmath>
#include <vector>

#include "compiler/ir/Program.hpp"
#include "support/InternalError.hpp"

namespace nfc {

bool depends_on(const Graph& g, NodeId expr, NodeId wrt) {
  for (NodeId id : topological_order(g, {expr}))
    if (id == wrt) return true;
  return false;
}

namespace {

// d(node)/d(wrt) given the derivatives `d` of its operands.
NodeId rule(Graph& g, NodeId id, const std::unordered_map<NodeId, NodeId>& d) {
  const Node n = g.node(id);  // copy: the factory may grow the node table
  auto arg = [&](size_t i) { return Ex{&g, n.args[i]}; };
  auto darg = [&](size_t i) { return Ex{&g, d.at(n.args[i])}; };
  auto c = [&](double v) { return Ex{&g, g.constant(v)}; };
  const Ex self{&g, id};
  switch (n.op) {
    case Op::neg:  // d(-a) = -da
      return (-darg(0)).id;
    case Op::exp:  // d(e^a) = e^a da
      return (self * darg(0)).id;
    case Op::log:  // d(log a) = da / a
      return (darg(0) / arg(0)).id;
    case Op::log1p:  // d(log(1+a)) = da / (1+a)
      return (darg(0) / (1.0 + arg(0))).id;
    case Op::expm1:  // d(e^a - 1) = e^a da
      return (apply(Op::exp, arg(0)) * darg(0)).id;
    case Op::sqrt:  // d(sqrt a) = da / (2 sqrt a)
      return (darg(0) / (2.0 * self)).id;
    case Op::abs:  // d|a| = sign(a) da
      return (Ex{&g, g.select_pos(n.args[0], g.constant(1), g.constant(-1))} * darg(0)).id;
    case Op::tanh:  // d(tanh a) = (1 - tanh^2 a) da
      return ((1.0 - self * self) * darg(0)).id;
    case Op::atanh:  // d(atanh a) = da / (1 - a^2)
      return (darg(0) / (1.0 - arg(0) * arg(0))).id;
    case Op::sinh:  // d(sinh a) = cosh a da
      return (apply(Op::cosh, arg(0)) * darg(0)).id;
    case Op::cosh:  // d(cosh a) = sinh a da
      return (apply(Op::sinh, arg(0)) * darg(0)).id;
    case Op::asinh:  // d(asinh a) = da / sqrt(1 + a^2)
      return (darg(0) / apply(Op::sqrt, 1.0 + arg(0) * arg(0))).id;
    case Op::sin:  // d(sin a) = cos a da
      return (apply(Op::cos, arg(0)) * darg(0)).id;
    case Op::cos:  // d(cos a) = -sin a da
      return (-(apply(Op::sin, arg(0)) * darg(0))).id;
    case Op::tan:  // d(tan a) = (1 + tan^2 a) da
      return ((1.0 + self * self) * darg(0)).id;
    case Op::erfinv:  // d(erfinv a) = sqrt(pi)/2 e^(erfinv(a)^2) da
      return (c(0.5 * std::sqrt(M_PI)) * apply(Op::exp, self * self) * darg(0)).id;
    case Op::sign:  // piecewise constant: 0 (its jump at 0 is not a derivative)
      return g.constant(0);
    case Op::atan:  // d(atan a) = da / (1 + a^2)
      return (darg(0) / (1.0 + arg(0) * arg(0))).id;
    case Op::asin:  // d(asin a) = da / sqrt(1 - a^2)
      return (darg(0) / apply(Op::sqrt, 1.0 - arg(0) * arg(0))).id;
    case Op::acos:  // d(acos a) = -da / sqrt(1 - a^2)
      return (-(darg(0) / apply(Op::sqrt, 1.0 - arg(0) * arg(0)))).id;
    case Op::acosh:  // d(acosh a) = da / sqrt(a^2 - 1)
      return (darg(0) / apply(Op::sqrt, arg(0) * arg(0) - 1.0)).id;
    case Op::cbrt:  // d(a^(1/3)) = da / (3 cbrt(a)^2)
      return (darg(0) / (3.0 * (self * self))).id;
    case Op::log2:  // d(log2 a) = da / (a ln 2)
      return (darg(0) / (arg(0) * c(M_LN2))).id;
    case Op::erfc:  // d(erfc a) = -2/sqrt(pi) e^(-a^2) da
      return (-(c(M_2_SQRTPI) * apply(Op::exp, -(arg(0) * arg(0))) * darg(0))).id;
    case Op::sigmoid:  // d(sigma a) = sigma (1 - sigma) da
      return (self * (1.0 - self) * darg(0)).id;
    case Op::logit:  // d(logit a) = da / (a (1 - a))
      return (darg(0) / (arg(0) * (1.0 - arg(0)))).id;
    case Op::softplus:  // d(softplus a) = sigma(a) da
      return (apply(Op::sigmoid, arg(0)) * darg(0)).id;
    case Op::erf:  // d(erf a) = 2/sqrt(pi) e^(-a^2) da
      return (c(M_2_SQRTPI) * apply(Op::exp, -(arg(0) * arg(0))) * darg(0)).id;
    case Op::relu:  // d(relu a) = [a > 0] da
      return (Ex{&g, g.select_pos(n.args[0], g.constant(1), g.constant(0))} * darg(0)).id;
    case Op::elu:  // d(elu a) = (a > 0 ? 1 : e^a) da
      return (Ex{&g, g.select_pos(n.args[0], g.constant(1), g.unary(Op::exp, n.args[0]))} * darg(0))
          .id;
    case Op::gelu: {  // d(a Phi(a)) = Phi(a) + a phi(a)
      const Ex cdf = 0.5 * (1.0 + apply(Op::erf, arg(0) * c(M_SQRT1_2)));
      const Ex pdf = c(0.5 * M_2_SQRTPI * M_SQRT1_2) * apply(Op::exp, -0.5 * (arg(0) * arg(0)));
      return ((cdf + arg(0) * pdf) * darg(0)).id;
    }
    case Op::add:  // d(a+b) = da + db
      return (darg(0) + darg(1)).id;
    case Op::sub:  // d(a-b) = da - db
      return (darg(0) - darg(1)).id;
    case Op::mul:  // d(ab) = b da + a db
      return (arg(1) * darg(0) + arg(0) * darg(1)).id;
    case Op::div:  // d(a/b) = da/b - a db / b^2
      return (darg(0) / arg(1) - arg(0) * darg(1) / (arg(1) * arg(1))).id;
    case Op::pow: {
      if (g.is_constant(n.args[1])) {  // d(a^k) = k a^(k-1) da
        const double k = g.node(n.args[1]).value;
        return (k * pow(arg(0), k - 1) * darg(0)).id;
      }
      // d(a^b) = a^b (db log a + b da / a)
      return (self * (darg(1) * apply(Op::log, arg(0)) + arg(1) * darg(0) / arg(0))).id;
    }
    case Op::select_pos:  // the condition selects; it is not differentiated
      return g.select_pos(n.args[0], d.at(n.args[1]), d.at(n.args[2]));
    case Op::constant:
    case Op::input:
    case Op::var:
    case Op::param:
      return g.constant(0);
    case Op::matvec:
    case Op::gather:
    case Op::concat:
    case Op::sum:
    case Op::matvec_t:
    case Op::scatter:
    case Op::broadcast:
    case Op::solve:
    case Op::made_sequence:
    case Op::made_adjoint:
      throw InternalError("diagonal derivative through a structural op");
  }
  return g.constant(0);
}

}  // namespace

NodeId derivative(Graph& g, NodeId expr, NodeId wrt) {
  std::unordered_map<NodeId, NodeId> d;
  std::unordered_map<NodeId, bool> depends;  // one pass, operands first
  for (NodeId id : topological_order(g, {expr})) {
    bool dep = id == wrt;
    for (NodeId a : g.node(id).args) dep = dep || depends.at(a);
    depends[id] = dep;
    if (id == wrt) {
      d[id] = g.constant(1);
    } else if (!dep) {
      d[id] = g.constant(0);
    } else {
      d[id] = rule(g, id, d);
    }
  }
  return d.at(expr);
}

NodeId elementwise_partial(Graph& g, NodeId node, NodeId operand) {
  internal_check(is_elementwise(g.node(node).op), "elementwise_partial of a structural op");
  std::unordered_map<NodeId, NodeId> d;
  for (NodeId a : g.node(node).args) d[a] = g.constant(a == operand ? 1 : 0);
  return rule(g, node, d);
}

NodeId substitute(Graph& g, NodeId expr, const std::unordered_map<NodeId, NodeId>& replace) {
  std::unordered_map<NodeId, NodeId> image;
  for (NodeId id : topological_order(g, {expr})) {
    if (auto it = replace.find(id); it != replace.end()) {
      image[id] = it->second;
      continue;
    }
    const Node n = g.node(id);
    std::vector<NodeId> args;
    bool changed = false;
    for (NodeId a : n.args) {
      args.push_back(image.at(a));
      changed |= args.back() != a;
    }
    if (!changed) {
      image[id] = id;
      continue;
    }
    switch (elementwise_arity(n.op)) {
      case 1:
        image[id] = g.unary(n.op, args[0]);
        break;
      case 2:
        image[id] = g.binary(n.op, args[0], args[1]);
        break;
      case 3:
        image[id] = g.select_pos(args[0], args[1], args[2]);
        break;
      default:
        if (n.op == Op::matvec) {
          image[id] = g.matvec(args[0], args[1], n.rows, n.cols, view_of(n));
        } else if (n.op == Op::gather) {
          image[id] = g.gather(args[0], n.indices);
        } else if (n.op == Op::concat) {
          image[id] = g.concat(args);
        } else if (n.op == Op::sum) {
          image[id] = g.sum(args[0]);
        } else if (n.op == Op::matvec_t) {
          image[id] = g.matvec_t(args[0], args[1], n.rows, n.cols, view_of(n));
        } else if (n.op == Op::scatter) {
          image[id] = g.scatter(args[0], n.indices, n.len);
        } else if (n.op == Op::broadcast) {
          image[id] = g.broadcast(args[0], n.len);
        } else if (n.op == Op::made_sequence) {
          image[id] = g.made_sequence(args[0], {args.begin() + 1, args.end()}, n.index);
        } else if (n.op == Op::made_adjoint) {
          const auto w =
              static_cast<ptrdiff_t>(g.made_sequence_info(n.index).adjoint_weights_arg(0));
          image[id] = g.made_adjoint(args[0], args[1], args[2],
                                     {args.begin() + MadeSequence::slope_arg(0), args.begin() + w},
                                     {args.begin() + w, args.end()}, n.index);
        } else if (n.op == Op::solve) {  // the replacement applies inside f and dfdx too
          image[id] = g.solve(args[0], substitute(g, n.indices[0], replace),
                              substitute(g, n.indices[1], replace), n.indices[2]);
        } else {
          throw InternalError("substitute: leaf with operands");
        }
    }
  }
  return image.at(expr);
}

}  // namespace nfc
