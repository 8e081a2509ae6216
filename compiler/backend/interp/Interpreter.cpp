// The reference interpreter: topological order, one std::vector<double> per
// node, the definition of each op written out as a loop.
#include "compiler/backend/interp/Interpreter.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "compiler/analysis/LoopBodies.hpp"
#include "compiler/ir/NewtonBisection.hpp"
#include "support/InternalError.hpp"

namespace nfc {
namespace {

using Values = std::vector<std::vector<double>>;  // indexed by NodeId

// Element k of a node's value, broadcasting length-1 values.
double at(const std::vector<double>& v, size_t k) {
  return v.size() == 1 ? v[0] : v[k];
}

std::vector<double> eval_elementwise_node(const Node& n, const Values& vals) {
  std::vector<double> out(static_cast<size_t>(n.len));
  const auto& a = vals[static_cast<size_t>(n.args[0])];
  const auto* b = n.args.size() > 1 ? &vals[static_cast<size_t>(n.args[1])] : nullptr;
  const auto* c = n.args.size() > 2 ? &vals[static_cast<size_t>(n.args[2])] : nullptr;
  for (size_t k = 0; k < out.size(); ++k)
    out[k] = eval_elementwise(n.op, at(a, k), b ? at(*b, k) : 0.0, c ? at(*c, k) : 0.0);
  return out;
}

// Columns of row r of a matvec's view (its row length, or all).
size_t row_length(const Node& n, size_t r) {
  return n.indices.empty() ? static_cast<size_t>(n.cols) : static_cast<size_t>(n.indices[r]);
}

// out[r] = sum_{c < len_r} M[offset + r * stride + c] * v[c], in column order.
std::vector<double> eval_matvec(const Node& n, const Values& vals) {
  const auto& m = vals[static_cast<size_t>(n.args[0])];
  const auto& v = vals[static_cast<size_t>(n.args[1])];
  const auto offset = static_cast<size_t>(n.offset), stride = static_cast<size_t>(n.stride);
  std::vector<double> out(static_cast<size_t>(n.rows), 0.0);
  for (size_t r = 0; r < out.size(); ++r)
    for (size_t c = 0; c < row_length(n, r); ++c) out[r] += m[offset + r * stride + c] * v[c];
  return out;
}

// out[c] = sum_{r: c < len_r} M[offset + r * stride + c] * a[r], in row order.
std::vector<double> eval_matvec_t(const Node& n, const Values& vals) {
  const auto& m = vals[static_cast<size_t>(n.args[0])];
  const auto& a = vals[static_cast<size_t>(n.args[1])];
  const auto offset = static_cast<size_t>(n.offset), stride = static_cast<size_t>(n.stride);
  std::vector<double> out(static_cast<size_t>(n.cols), 0.0);
  for (size_t c = 0; c < out.size(); ++c)
    for (size_t r = 0; r < static_cast<size_t>(n.rows); ++r)
      if (c < row_length(n, r)) out[c] += m[offset + r * stride + c] * a[r];
  return out;
}

// A made_adjoint node (Ops.def): the reverse sweep, from the last position
// to the first.
std::vector<double> eval_made_adjoint(const Graph& g, const Node& n, const Values& vals) {
  const MadeSequence& s = g.made_sequence_info(n.index);
  const auto D = static_cast<size_t>(s.dim), P = static_cast<size_t>(s.params_per_dim);
  const size_t L = s.layers.size();
  auto arg = [&](size_t i) -> const std::vector<double>& {
    return vals[static_cast<size_t>(n.args[i])];
  };
  const auto &au = arg(0), &araw = arg(1), &sraw = arg(2);
  std::vector<double> out(D * (1 + P), 0.0), u_adj(D, 0.0);
  std::vector<std::vector<double>> h_adj(L);  // per hidden layer
  for (size_t l = 0; l + 1 < L; ++l) h_adj[l].assign(size_t(s.layers[l].rows), 0.0);
  // Row r of layer l sends delta w[r, :] back to its input's first
  // row_lengths[r] values.
  auto back = [&](size_t l, size_t r, double delta) {
    const MadeSequence::Layer& layer = s.layers[l];
    const auto& w = arg(s.adjoint_weights_arg(l));
    std::vector<double>& in = l == 0 ? u_adj : h_adj[l - 1];
    for (size_t c = 0; c < size_t(layer.row_lengths[r]); ++c)
      in[c] += w[r * size_t(layer.cols) + size_t(layer.first_col) + c] * delta;
  };
  for (size_t k = D; k-- > 0;) {
    const double t = au[k] + u_adj[k];
    out[k] = t;
    for (size_t p = 0; p < P; ++p) {
      const size_t r = k * P + p;
      out[D + r] = araw[r] + sraw[r] * t;
      back(L - 1, r, out[D + r]);
    }
    for (size_t l = L - 1; l-- > 0;) {
      const MadeSequence::Layer& layer = s.layers[l];
      for (size_t r = 0; r < size_t(layer.rows); ++r) {
        if (layer.degrees[r] != int(k)) continue;
        if (layer.residual) h_adj[l - 1][r] += h_adj[l][r];
        back(l, r, h_adj[l][r] * arg(MadeSequence::slope_arg(l))[r]);
      }
    }
  }
  return out;
}

// Evaluates one node from its operands' values. No `default:`: a new op in
// Ops.def must be taught here.
std::vector<double> eval_node(const Graph& g, const Node& n, const Values& vals,
                              const std::vector<double>& params) {
  std::vector<double> out;
  switch (n.op) {
#define NFC_UNARY(o, spelling, expr) case Op::o:
#define NFC_BINARY(o, spelling, expr) case Op::o:
#define NFC_TERNARY(o, spelling, expr) case Op::o:
#include "compiler/ir/Ops.def"
    return eval_elementwise_node(n, vals);
    case Op::constant:
      return {n.value};
    case Op::param: {
      const ParamTensor& t = g.params().at(static_cast<size_t>(n.index));
      internal_check(t.offset + t.size <= static_cast<int64_t>(params.size()),
                     "interpret: parameter buffer smaller than the parameter table");
      return {params.begin() + t.offset, params.begin() + t.offset + t.size};
    }
    case Op::matvec:
      return eval_matvec(n, vals);
    case Op::gather:
      for (int i : n.indices)
        out.push_back(vals[static_cast<size_t>(n.args[0])][static_cast<size_t>(i)]);
      return out;
    case Op::concat:
      for (NodeId p : n.args) {
        const auto& part = vals[static_cast<size_t>(p)];
        out.insert(out.end(), part.begin(), part.end());
      }
      return out;
    case Op::sum: {
      double s = 0;
      for (double x : vals[static_cast<size_t>(n.args[0])]) s += x;
      return {s};
    }
    case Op::matvec_t:
      return eval_matvec_t(n, vals);
    case Op::scatter: {
      const auto& a = vals[static_cast<size_t>(n.args[0])];
      out.assign(static_cast<size_t>(n.len), 0.0);
      for (size_t k = 0; k < n.indices.size(); ++k)
        out[static_cast<size_t>(n.indices[k])] += at(a, k);
      return out;
    }
    case Op::broadcast:
      return std::vector<double>(static_cast<size_t>(n.len),
                                 vals[static_cast<size_t>(n.args[0])].at(0));
    case Op::solve:
      throw InternalError("interpret: solve is evaluated by evaluate_solve");
    case Op::made_sequence:
      throw InternalError("interpret: made_sequence is evaluated by evaluate_made_sequence");
    case Op::made_adjoint:
      return eval_made_adjoint(g, n, vals);
    case Op::input:
      throw InternalError("interpret: input nodes are bound, not evaluated");
    case Op::var:
      throw InternalError("interpret: 'var' node left in a lowered program");
  }
  throw InternalError("interpret: unknown op");
}

// Evaluates a solve node: for each element, Newton-bisection on the
// x-dependent part of f and dfdx, re-evaluated with x bound to the iterate.
void evaluate_solve(const Graph& g, NodeId id, Values& vals, const std::vector<double>& params) {
  const Node n = g.node(id);
  const SolveBody body = solve_body(g, id);
  const NodeId f = body.f, dfdx = body.dfdx, x = body.x;
  auto& out = vals[static_cast<size_t>(id)];
  out.assign(static_cast<size_t>(n.len), 0.0);
  for (size_t e = 0; e < out.size(); ++e) {
    auto eval = [&](double xv) {
      vals[static_cast<size_t>(x)] = {xv};
      for (NodeId k : body.nodes)
        vals[static_cast<size_t>(k)] = eval_node(g, g.node(k), vals, params);
      return std::pair{at(vals[static_cast<size_t>(f)], e), at(vals[static_cast<size_t>(dfdx)], e)};
    };
    out[e] = newton_bisection<double>(at(vals[static_cast<size_t>(n.args[0])], e), eval);
  }
}

// Evaluates a made_sequence node (Ops.def) position by position; the step
// subgraph is re-evaluated with its placeholders bound for each position.
void evaluate_made_sequence(const Graph& g, NodeId id, Values& vals,
                            const std::vector<double>& params) {
  const Node n = g.node(id);
  const MadeSequence& s = g.made_sequence_info(n.index);
  const auto D = static_cast<size_t>(s.dim), P = static_cast<size_t>(s.params_per_dim);
  const LoopBody step = made_sequence_step(g, s);
  for (NodeId j : step.reads) vals[static_cast<size_t>(j)] = eval_node(g, g.node(j), vals, params);
  const std::vector<double> v = vals[static_cast<size_t>(n.args[0])];
  std::vector<double> out(D * (1 + P), 0.0);
  std::vector<std::vector<double>> hidden(s.layers.size());
  for (size_t l = 0; l < s.layers.size(); ++l) hidden[l].assign(size_t(s.layers[l].rows), 0.0);
  // Row r of layer l from its input's first row_lengths[r] values.
  auto row = [&](size_t l, size_t r, const std::vector<double>& in) {
    const MadeSequence::Layer& layer = s.layers[l];
    const auto& w = vals[static_cast<size_t>(n.args[MadeSequence::weights_arg(l)])];
    double acc = vals[static_cast<size_t>(n.args[MadeSequence::bias_arg(l)])][r];
    for (size_t c = 0; c < size_t(layer.row_lengths[r]); ++c)
      acc += w[r * size_t(layer.cols) + size_t(layer.first_col) + c] * in[c];
    return acc;
  };
  for (size_t k = 0; k < D; ++k) {
    for (size_t l = 0; l + 1 < s.layers.size(); ++l) {
      const std::vector<double>& in = l == 0 ? out : hidden[l - 1];
      for (size_t r = 0; r < hidden[l].size(); ++r) {
        if (s.layers[l].degrees[r] != int(k)) continue;
        double a = eval_elementwise(s.act, row(l, r, in));
        if (s.layers[l].residual) a += hidden[l - 1][r];
        hidden[l][r] = a;
      }
    }
    const size_t last = s.layers.size() - 1;
    const std::vector<double>& in = last == 0 ? out : hidden[last - 1];
    for (size_t p = 0; p < P; ++p) {
      out[D + k * P + p] = row(last, k * P + p, in);
      vals[static_cast<size_t>(s.raw[p])] = {out[D + k * P + p]};
    }
    vals[static_cast<size_t>(s.target)] = {v[k]};
    for (NodeId j : step.nodes)
      vals[static_cast<size_t>(j)] = eval_node(g, g.node(j), vals, params);
    out[k] = vals[static_cast<size_t>(s.step)].at(0);
  }
  vals[static_cast<size_t>(id)] = std::move(out);
}

}  // namespace

namespace {

// Values of every node below `roots` for one sample.
Values evaluate(const Graph& g, NodeId input, const std::vector<NodeId>& roots,
                const std::vector<double>& params, const std::vector<double>& in_row) {
  Values vals(g.size());
  for (NodeId id : topological_order(g, roots)) {
    const Node& n = g.node(id);
    auto& out = vals[static_cast<size_t>(id)];
    if (n.op == Op::input) {
      internal_check(id == input, "interpret: input node is not the entry's input");
      internal_check(static_cast<int>(in_row.size()) == n.len, "interpret: input row length");
      out = in_row;
    } else if (n.op == Op::solve) {
      evaluate_solve(g, id, vals, params);
    } else if (n.op == Op::made_sequence) {
      evaluate_made_sequence(g, id, vals, params);
    } else {
      out = eval_node(g, n, vals, params);
    }
  }
  return vals;
}

}  // namespace

std::vector<std::vector<double>> interpret(const Graph& g, const EntryPoint& entry,
                                           const std::vector<double>& params,
                                           const std::vector<double>& in_row) {
  const Values vals = evaluate(g, entry.input, entry.outputs, params, in_row);
  std::vector<std::vector<double>> result;
  for (NodeId o : entry.outputs) result.push_back(vals[static_cast<size_t>(o)]);
  return result;
}

std::vector<std::vector<double>> interpret_batch(const Graph& g, const EntryPoint& entry,
                                                 const std::vector<double>& params,
                                                 const std::vector<double>& in, int64_t n) {
  const auto dim = entry.input >= 0 ? static_cast<size_t>(g.len(entry.input)) : 0;
  internal_check(in.size() == dim * static_cast<size_t>(n), "interpret_batch: input size");
  std::vector<std::vector<double>> result(entry.outputs.size());
  for (size_t s = 0; s < static_cast<size_t>(n); ++s) {
    std::vector<double> row(in.begin() + static_cast<std::ptrdiff_t>(s * dim),
                            in.begin() + static_cast<std::ptrdiff_t>((s + 1) * dim));
    auto outs = interpret(g, entry, params, row);
    for (size_t o = 0; o < outs.size(); ++o)
      result[o].insert(result[o].end(), outs[o].begin(), outs[o].end());
  }
  return result;
}

double interpret_mean_gradient(const Graph& g, const EntryPoint& entry,
                               const std::vector<double>& params, const std::vector<double>& in,
                               int64_t n, std::vector<double>& grad) {
  internal_check(entry.kind == EntryKind::mean_gradient && entry.outputs.size() == 1 &&
                     g.len(entry.outputs[0]) == 1,
                 "interpret_mean_gradient: needs a mean_gradient entry with one scalar output");
  const auto dim = entry.input >= 0 ? static_cast<size_t>(g.len(entry.input)) : 0;
  internal_check(in.size() == dim * static_cast<size_t>(n), "interpret_mean_gradient: input size");
  std::vector<NodeId> roots = entry.outputs;
  for (const Accumulation& a : entry.accumulations) {
    internal_check((a.value >= 0) != (a.outer_a >= 0 && a.outer_b >= 0),
                   "interpret_mean_gradient: an accumulation is a value or an outer product");
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0) roots.push_back(id);
  }
  const auto param_count = static_cast<size_t>(g.param_count());
  grad.assign(param_count, 0.0);
  double loss = 0;
  for (size_t s = 0; s < static_cast<size_t>(n); ++s) {
    std::vector<double> row(in.begin() + static_cast<std::ptrdiff_t>(s * dim),
                            in.begin() + static_cast<std::ptrdiff_t>((s + 1) * dim));
    const Values vals = evaluate(g, entry.input, roots, params, row);
    loss += vals[static_cast<size_t>(entry.outputs[0])][0];
    for (const Accumulation& a : entry.accumulations) {
      const auto offset = static_cast<size_t>(a.offset);
      if (a.value >= 0) {
        const auto& v = vals[static_cast<size_t>(a.value)];
        internal_check(offset + v.size() <= param_count, "interpret_mean_gradient: range");
        for (size_t k = 0; k < v.size(); ++k) grad[offset + k] += v[k];
      } else {
        const auto& va = vals[static_cast<size_t>(a.outer_a)];
        const auto& vb = vals[static_cast<size_t>(a.outer_b)];
        const size_t stride = a.stride > 0 ? static_cast<size_t>(a.stride) : vb.size();
        internal_check(
            va.size() > 0 && offset + (va.size() - 1) * stride + vb.size() <= param_count,
            "interpret_mean_gradient: range");
        for (size_t r = 0; r < va.size(); ++r) {
          const size_t cols =
              a.row_lengths.empty() ? vb.size() : static_cast<size_t>(a.row_lengths[r]);
          for (size_t c = 0; c < cols; ++c) grad[offset + r * stride + c] += va[r] * vb[c];
        }
      }
    }
  }
  if (n <= 0) return 0;
  const double scale = 1.0 / static_cast<double>(n);
  for (double& x : grad) x *= scale;
  return loss * scale;
}

}  // namespace nfc
