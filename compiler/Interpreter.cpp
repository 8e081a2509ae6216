// The reference interpreter: topological order, one std::vector<double> per
// node, the definition of each op written out as a loop.
#include "compiler/Interpreter.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "compiler/NewtonBisection.hpp"
#include "dsl/Diagnostics.hpp"

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

std::vector<double> eval_matvec(const Node& n, const Values& vals) {
  const auto& m = vals[static_cast<size_t>(n.args[0])];
  const auto& v = vals[static_cast<size_t>(n.args[1])];
  const auto cols = static_cast<size_t>(n.cols);
  std::vector<double> out(static_cast<size_t>(n.rows), 0.0);
  for (size_t r = 0; r < out.size(); ++r)
    for (size_t c = 0; c < cols; ++c) out[r] += m[r * cols + c] * v[c];
  return out;
}

// out[c] = sum_r M[r * cols + c] * a[r], accumulated in row order.
std::vector<double> eval_matvec_t(const Node& n, const Values& vals) {
  const auto& m = vals[static_cast<size_t>(n.args[0])];
  const auto& a = vals[static_cast<size_t>(n.args[1])];
  const auto rows = static_cast<size_t>(n.rows), cols = static_cast<size_t>(n.cols);
  std::vector<double> out(cols, 0.0);
  for (size_t c = 0; c < cols; ++c)
    for (size_t r = 0; r < rows; ++r) out[c] += m[r * cols + c] * a[r];
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
#include "compiler/Ops.def"
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
  const NodeId f = n.indices[0], dfdx = n.indices[1], x = n.indices[2];
  std::vector<NodeId> inner;  // x-dependent nodes, operands first
  std::vector<char> dep(g.size(), 0);
  for (NodeId k : topological_order(g, {f, dfdx})) {
    bool d = k == x;
    for (NodeId a : g.node(k).args) d = d || dep[static_cast<size_t>(a)];
    dep[static_cast<size_t>(k)] = d;
    if (d && k != x) inner.push_back(k);
  }
  auto& out = vals[static_cast<size_t>(id)];
  out.assign(static_cast<size_t>(n.len), 0.0);
  for (size_t e = 0; e < out.size(); ++e) {
    auto eval = [&](double xv) {
      vals[static_cast<size_t>(x)] = {xv};
      for (NodeId k : inner) vals[static_cast<size_t>(k)] = eval_node(g, g.node(k), vals, params);
      return std::pair{at(vals[static_cast<size_t>(f)], e), at(vals[static_cast<size_t>(dfdx)], e)};
    };
    out[e] = newton_bisection<double>(at(vals[static_cast<size_t>(n.args[0])], e), eval);
  }
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
        internal_check(offset + va.size() * vb.size() <= param_count,
                       "interpret_mean_gradient: range");
        for (size_t r = 0; r < va.size(); ++r)
          for (size_t c = 0; c < vb.size(); ++c) grad[offset + r * vb.size() + c] += va[r] * vb[c];
      }
    }
  }
  if (n <= 0) return 0;
  const double scale = 1.0 / static_cast<double>(n);
  for (double& x : grad) x *= scale;
  return loss * scale;
}

}  // namespace nfc
