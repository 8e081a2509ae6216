// Constrained parameters as reparameterisations.
#include "compiler/layers/Params.hpp"

#include <cmath>

namespace nfc {

namespace {

// The raw value whose constrained image is `v` (sema checked v is inside).
double raw_value(const ParamDecl& p, double v) {
  switch (p.constraint) {
    case ParamDecl::Constraint::none:
      return v;
    case ParamDecl::Constraint::positive:  // softplus^-1(v) = v + log(-expm1(-v))
      return v + std::log(-std::expm1(-v));
    case ParamDecl::Constraint::interval: {  // logit((v - lo) / (hi - lo))
      const double u = (v - p.lo) / (p.hi - p.lo);
      return std::log(u) - std::log1p(-u);
    }
  }
  return v;
}

}  // namespace

NodeId declare_param(Graph& g, const ParamDecl& p, const std::string& tensor_name) {
  const int n = static_cast<int>(p.init.size());
  const int tensor =
      g.add_param(tensor_name, p.is_vector ? std::vector<int>{n} : std::vector<int>{});
  std::vector<double> raw;
  for (double v : p.init) raw.push_back(raw_value(p, v));
  g.set_param_init(tensor, std::move(raw));
  const NodeId r = g.param(tensor);
  if (p.constraint != ParamDecl::Constraint::none) g.mark_param_constrained(tensor);
  switch (p.constraint) {
    case ParamDecl::Constraint::none:
      return r;
    case ParamDecl::Constraint::positive:
      return g.unary(Op::softplus, r);
    case ParamDecl::Constraint::interval:
      return g.binary(Op::add, g.constant(p.lo),
                      g.binary(Op::mul, g.constant(p.hi - p.lo), g.unary(Op::sigmoid, r)));
  }
  return r;
}

}  // namespace nfc
