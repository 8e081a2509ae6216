// Reverse mode: walk the graph from the loss back to the parameters in
// reverse topological order, pushing each node's adjoint to its operands
// with one rule per kind of op. Elementwise ops reuse Derive.cpp's rule
// table (elementwise_partial), so every op's derivative is written once.
#include "compiler/analysis/Gradient.hpp"

#include <unordered_map>

#include "compiler/analysis/Derive.hpp"
#include "support/InternalError.hpp"
#include "support/Iota.hpp"

namespace nfc {

namespace {

class ReverseMode {
 public:
  ReverseMode(Graph& g, NodeId loss) : g_(g), order_(topological_order(g, {loss})) {
    for (NodeId id : order_) {
      // Data tables (ParamTensor::data) are read, never trained.
      const Node& n = g_.node(id);
      bool reaches = n.op == Op::param && !g_.params()[static_cast<size_t>(n.index)].data;
      for (NodeId a : g_.node(id).args) reaches = reaches || reaches_param_.at(a);
      reaches_param_[id] = reaches;
    }
    adjoint_[loss] = g_.constant(1);
  }

  std::vector<Accumulation> run();

 private:
  void accumulate(NodeId id, NodeId contribution);
  void push(NodeId id, NodeId adj);
  void push_elementwise(NodeId id, NodeId adj);
  void push_matvec(NodeId id, NodeId adj);
  void push_solve(NodeId id, NodeId adj);
  void push_made_sequence(NodeId id, NodeId adj);
  void push_weights(NodeId matvec_node, NodeId adj);
  NodeId full(NodeId adj, int len) { return g_.broadcast(adj, len); }

  Graph& g_;
  std::vector<NodeId> order_;
  std::unordered_map<NodeId, bool> reaches_param_;   // only these need adjoints
  std::unordered_map<NodeId, NodeId> adjoint_;       // length 1 = same in every lane
  std::vector<std::pair<int, Accumulation>> outer_;  // (tensor, W += a b^T)
};

// adjoint(id) += contribution
void ReverseMode::accumulate(NodeId id, NodeId contribution) {
  if (!reaches_param_.at(id) || g_.is_constant(contribution, 0)) return;
  auto [it, fresh] = adjoint_.emplace(id, contribution);
  if (!fresh) it->second = g_.binary(Op::add, it->second, contribution);
}

void ReverseMode::push_elementwise(NodeId id, NodeId adj) {
  const Node n = g_.node(id);
  for (size_t i = 0; i < n.args.size(); ++i) {
    const NodeId arg = n.args[i];
    bool repeated = false;  // x * x: one partial, 2x, for the shared operand
    for (size_t j = 0; j < i; ++j) repeated |= n.args[j] == arg;
    if (repeated || !reaches_param_.at(arg)) continue;
    // d loss/d arg = adj * d node/d arg, summed over lanes if arg broadcast
    NodeId c = g_.binary(Op::mul, adj, elementwise_partial(g_, id, arg));
    if (g_.len(arg) == 1 && g_.len(c) > 1) c = g_.sum(c);
    accumulate(arg, c);
  }
}

// out = W v:  d/dv = W^T adj,  d/dW = adj v^T (an outer product per sample)
void ReverseMode::push_matvec(NodeId id, NodeId adj) {
  const Node n = g_.node(id);
  const NodeId w = n.args[0], v = n.args[1];
  const NodeId a = full(adj, n.rows);
  if (reaches_param_.at(v)) accumulate(v, g_.matvec_t(w, a, n.rows, n.cols, view_of(n)));
  push_weights(id, a);
}

// The weights' share of matvec node `id` receiving adjoint `a` (full
// length): an outer product a v^T over the node's view.
void ReverseMode::push_weights(NodeId id, NodeId a) {
  const Node n = g_.node(id);
  const NodeId w = n.args[0], v = n.args[1];
  if (g_.node(w).op != Op::param || !reaches_param_.at(w)) {
    internal_check(!reaches_param_.at(w), "matvec weights must be a parameter tensor");
    return;
  }
  const ParamTensor& t = g_.params()[static_cast<size_t>(g_.node(w).index)];
  outer_.push_back(
      {g_.node(w).index, Accumulation{t.offset + n.offset, -1, a, v, n.stride, n.indices}});
}

// seq = made_sequence(v, w, b): u solves v_k = h(u_k; raw_k) position by
// position, with raw = MADE(u). Its adjoint (adj_u, adj_raw) flows back in
// two parts:
//   - made_adjoint, one loop from the last position to the first, carries
//     each u_k's adjoint back through the MADE to u_0..u_{k-1}: the total
//     adjoints t of u and rho of raw. The step is u_k = step(raw_k, v_k),
//     so v_k's adjoint is t_k du_k/dv_k.
//   - rho is then the adjoint of the MADE's outputs on the fixed u: the
//     weights' gradient is the ordinary MADE backward pass, in parallel
//     (matvec_t per layer, outer products for the weights).
// The graph stays one position's worth whatever the dimension.
void ReverseMode::push_made_sequence(NodeId id, NodeId adj) {
  const Node n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  const int D = s.dim, P = s.params_per_dim;
  const size_t L = s.layers.size();
  const NodeId v = n.args[0];
  const NodeId a = full(adj, n.len);
  // The step's partials at each position's raw outputs and target.
  std::unordered_map<NodeId, NodeId> at_solution{{s.target, v}};
  for (int p = 0; p < P; ++p) {
    std::vector<int> rows;
    for (int k = 0; k < D; ++k) rows.push_back(D + k * P + p);
    at_solution[s.raw[size_t(p)]] = g_.gather(id, std::move(rows));
  }
  auto partial = [&](NodeId var) {
    return full(substitute(g_, derivative(g_, s.step, var), at_solution), D);
  };
  std::vector<NodeId> by_param;  // sraw as P vectors of D, then interleaved
  for (int p = 0; p < P; ++p) by_param.push_back(partial(s.raw[size_t(p)]));
  std::vector<int> interleave;
  for (int k = 0; k < D; ++k)
    for (int p = 0; p < P; ++p) interleave.push_back(p * D + k);
  const NodeId sraw = g_.gather(g_.concat(by_param), std::move(interleave));
  // The MADE's one pass on the solution u: each layer's matvec node (for
  // its view and input) and each hidden layer's act' at its pre-activation.
  std::vector<NodeId> matvecs, slopes, weights;
  NodeId h = g_.gather(id, iota(D));
  for (size_t l = 0; l < L; ++l) {
    const MadeSequence::Layer& layer = s.layers[l];
    const NodeId w = n.args[MadeSequence::weights_arg(l)], b = n.args[MadeSequence::bias_arg(l)];
    weights.push_back(w);
    matvecs.push_back(
        g_.matvec(w, h, layer.rows, g_.len(h), {layer.first_col, layer.cols, layer.row_lengths}));
    if (l + 1 == L) break;
    const NodeId pre = g_.binary(Op::add, matvecs.back(), b);
    const NodeId act = g_.unary(s.act, pre);
    slopes.push_back(full(elementwise_partial(g_, act, pre), layer.rows));
    h = layer.residual ? g_.binary(Op::add, h, act) : act;
  }
  const NodeId sweep = g_.made_adjoint(g_.gather(a, iota(D)), g_.gather(a, iota(D * P, D)), sraw,
                                       slopes, weights, n.index);
  if (reaches_param_.at(v))
    accumulate(v, g_.binary(Op::mul, partial(s.target), g_.gather(sweep, iota(D))));
  // The MADE backward pass from rho, top layer first.
  NodeId delta = g_.gather(sweep, iota(D * P, D)), h_adj = -1;
  for (size_t l = L; l-- > 0;) {
    push_weights(matvecs[l], delta);
    accumulate(n.args[MadeSequence::bias_arg(l)], delta);
    if (l == 0) break;
    const Node& m = g_.node(matvecs[l]);
    NodeId below = g_.matvec_t(m.args[0], delta, m.rows, m.cols, view_of(m));
    if (s.layers[l].residual) below = g_.binary(Op::add, below, h_adj);
    h_adj = below;
    delta = g_.binary(Op::mul, h_adj, slopes[l - 1]);
  }
}

// x = solve(target, f, dfdx) satisfies f(x; c) = target. By the implicit
// function theorem, dx/dtarget = 1 / f_x and dx/dc = -f_c / f_x at the
// solution, for each context operand c (the x-free values f reads). f_c is
// derived with every context operand replaced by a placeholder var, so the
// derivative runs through the elementwise x-dependent part only.
void ReverseMode::push_solve(NodeId id, NodeId adj) {
  const Node n = g_.node(id);
  const NodeId f = n.indices[0], dfdx = n.indices[1], x = n.indices[2];
  const NodeId scaled = g_.binary(Op::div, adj, substitute(g_, dfdx, {{x, id}}));
  auto contribute = [&](NodeId operand, NodeId c) {
    if (g_.len(operand) == 1 && g_.len(c) > 1) c = g_.sum(c);
    accumulate(operand, c);
  };
  if (reaches_param_.at(n.args[0])) contribute(n.args[0], scaled);
  std::unordered_map<NodeId, NodeId> to_vars, back;
  for (size_t i = 1; i < n.args.size(); ++i) {
    const NodeId v = g_.var(g_.add_var_name("solve_context"), g_.len(n.args[i]));
    to_vars[n.args[i]] = v;
    back[v] = n.args[i];
  }
  back[x] = id;
  const NodeId f_vars = substitute(g_, f, to_vars);
  for (size_t i = 1; i < n.args.size(); ++i) {
    const NodeId c = n.args[i];
    if (!reaches_param_.at(c)) continue;
    const NodeId f_c = substitute(g_, derivative(g_, f_vars, to_vars.at(c)), back);
    contribute(c, g_.unary(Op::neg, g_.binary(Op::mul, scaled, f_c)));
  }
}

void ReverseMode::push(NodeId id, NodeId adj) {
  const Node n = g_.node(id);
  if (is_elementwise(n.op)) return push_elementwise(id, adj);
  switch (n.op) {
    case Op::matvec:
      return push_matvec(id, adj);
    case Op::gather:  // out[k] = v[idx[k]]:  adj_v[idx[k]] += adj[k]
      return accumulate(n.args[0], g_.scatter(full(adj, n.len), n.indices, g_.len(n.args[0])));
    case Op::concat: {  // each part gets its slice of the adjoint
      int start = 0;
      for (NodeId part : n.args) {
        std::vector<int> slice;
        for (int k = 0; k < g_.len(part); ++k) slice.push_back(start + k);
        start += g_.len(part);
        accumulate(part, g_.gather(full(adj, n.len), std::move(slice)));
      }
      return;
    }
    case Op::sum:  // every lane gets the adjoint (a length-1 adjoint means that)
      return accumulate(n.args[0], adj);
    case Op::broadcast:  // the one source lane gets the sum
      return accumulate(n.args[0], g_.sum(adj));
    case Op::solve:
      return push_solve(id, adj);
    case Op::constant:
    case Op::input:
    case Op::var:
    case Op::param:
      return;
    case Op::matvec_t:
    case Op::scatter:
      throw InternalError("reverse mode through an adjoint op");
    case Op::made_sequence:
      return push_made_sequence(id, adj);
    case Op::made_adjoint:
      throw InternalError("reverse mode through an adjoint op");
    default:  // elementwise ops, handled above
      throw InternalError("reverse mode: unhandled op");
  }
}

std::vector<Accumulation> ReverseMode::run() {
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    auto adj = adjoint_.find(*it);
    if (adj != adjoint_.end()) push(*it, adj->second);
  }
  // Per tensor: its elementwise adjoint, then its outer products.
  std::vector<Accumulation> terms;
  for (size_t t = 0; t < g_.params().size(); ++t) {
    const ParamTensor& p = g_.params()[t];
    auto adj = adjoint_.find(g_.param(static_cast<int>(t)));
    if (adj != adjoint_.end()) {
      Accumulation whole;
      whole.offset = p.offset;
      whole.value = full(adj->second, static_cast<int>(p.size));
      terms.push_back(std::move(whole));
    }
    for (const auto& [tensor, acc] : outer_)
      if (tensor == static_cast<int>(t)) terms.push_back(acc);
  }
  return terms;
}

}  // namespace

std::vector<Accumulation> parameter_gradient(Graph& g, NodeId loss) {
  internal_check(g.len(loss) == 1, "the loss must be a per-sample scalar");
  return ReverseMode(g, loss).run();
}

}  // namespace nfc
