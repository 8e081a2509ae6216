#include "compiler/layers/LinearLayer.hpp"

#include <cmath>
#include <memory>
#include <numeric>

#include "compiler/sema/Permutations.hpp"

namespace nfc {

namespace {

// begin, ..., end - 1 (empty if end <= begin).
std::vector<int> range(int begin, int end) {
  return iota(std::max(end - begin, 0), begin);
}

struct LuParams {
  NodeId lower, upper, log_diag, bias;
  int dim;

  // sum_j L[i, j] v_j over j < i (v holds v_0..v_{i-1}); 0 for i = 0.
  NodeId lower_row(Graph& g, int i, NodeId v) const {
    if (i == 0) return g.constant(0);
    return g.matvec(lower, v, 1, i, {int64_t{i} * (i - 1) / 2, 0, {}});
  }
  // sum_j U[i, j] v_j over j > i (v holds v_{i+1}..v_{D-1}); 0 for the last row.
  NodeId upper_row(Graph& g, int i, NodeId v) const {
    const int n = dim - 1 - i;
    if (n == 0) return g.constant(0);
    const int64_t offset = int64_t{i} * (dim - 1) - int64_t{i} * (i - 1) / 2;
    return g.matvec(upper, v, 1, n, {offset, 0, {}});
  }
};

std::pair<NodeId, NodeId> forward(Graph& g, const LuParams& p, NodeId x) {
  const int D = p.dim;
  std::vector<NodeId> y;
  for (int i = 0; i < D; ++i) {
    const NodeId diag = g.unary(Op::exp, g.gather(p.log_diag, {i}));
    const NodeId own = g.binary(Op::mul, diag, g.gather(x, {i}));
    y.push_back(g.binary(Op::add, own, p.upper_row(g, i, g.gather(x, range(i + 1, D)))));
  }
  const NodeId yv = g.concat(y);
  std::vector<NodeId> z;
  for (int i = 0; i < D; ++i)
    z.push_back(g.binary(Op::add, y[size_t(i)], p.lower_row(g, i, g.gather(yv, range(0, i)))));
  return {g.binary(Op::add, g.concat(z), p.bias), g.sum(p.log_diag)};
}

std::pair<NodeId, NodeId> inverse(Graph& g, const LuParams& p, NodeId z) {
  const int D = p.dim;
  const NodeId r = g.binary(Op::sub, z, p.bias);
  std::vector<NodeId> y;  // L y = z - b, forward substitution
  for (int i = 0; i < D; ++i) {
    const NodeId known = i == 0 ? g.constant(0) : g.concat(y);
    y.push_back(g.binary(Op::sub, g.gather(r, {i}), p.lower_row(g, i, known)));
  }
  std::vector<NodeId> x(static_cast<size_t>(D));  // U x = y, back substitution
  for (int i = D - 1; i >= 0; --i) {
    std::vector<NodeId> after(x.begin() + i + 1, x.end());
    const NodeId known = after.empty() ? g.constant(0) : g.concat(after);
    const NodeId rest = g.binary(Op::sub, y[size_t(i)], p.upper_row(g, i, known));
    x[size_t(i)] =
        g.binary(Op::mul, rest, g.unary(Op::exp, g.unary(Op::neg, g.gather(p.log_diag, {i}))));
  }
  return {g.concat(x), g.unary(Op::neg, g.sum(p.log_diag))};
}

}  // namespace

std::optional<BuiltLayer> build_layer(LayerEnv& env, const LinearSpec&) {
  Graph& g = env.g;
  const int dim = env.flow.dim;
  const std::string prefix = env.param_prefix();
  const int triangle = dim * (dim - 1) / 2;
  // Off-diagonal entries uniform in +-1/sqrt(dim) (nn.Linear's bound for
  // dim inputs), the diagonal 1 and the bias 0: a random, well-conditioned
  // start (det U = 1).
  const double bound = 1.0 / std::sqrt(static_cast<double>(dim));
  LuParams p{-1, -1, -1, -1, dim};
  if (triangle > 0) {
    p.lower = g.param(g.add_param(prefix + "lower", {triangle}, bound));
    p.upper = g.param(g.add_param(prefix + "upper", {triangle}, bound));
  }
  p.log_diag = g.param(g.add_param(prefix + "log_diag", {dim}, 0));
  p.bias = g.param(g.add_param(prefix + "bias", {dim}, 0));
  auto params = std::make_shared<LuParams>(p);
  // L U x is not triangular as a whole (each factor is): order stays empty
  // and the flow builder skips the structural check for this kind.
  BuiltLayer built;
  built.maps.forward = [&g, params](NodeId x) { return forward(g, *params, x); };
  built.maps.inverse = [&g, params](NodeId z) -> std::optional<std::pair<NodeId, NodeId>> {
    return inverse(g, *params, z);
  };
  return built;
}

}  // namespace nfc
