// The reference interpreter: topological order, one std::vector<double> per
// node, the definition of each op written out as a loop.
#include "compiler/Interpreter.hpp"

#include <string>

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
    case Op::input:
      throw InternalError("interpret: input nodes are bound, not evaluated");
    case Op::var:
      throw InternalError("interpret: 'var' node left in a lowered program");
  }
  throw InternalError("interpret: unknown op");
}

}  // namespace

std::vector<std::vector<double>> interpret(const Graph& g, const EntryPoint& entry,
                                           const std::vector<double>& params,
                                           const std::vector<double>& in_row) {
  Values vals(g.size());
  for (NodeId id : topological_order(g, entry.outputs)) {
    const Node& n = g.node(id);
    auto& out = vals[static_cast<size_t>(id)];
    if (n.op == Op::input) {
      internal_check(id == entry.input, "interpret: input node is not the entry's input");
      internal_check(static_cast<int>(in_row.size()) == n.len, "interpret: input row length");
      out = in_row;
    } else {
      out = eval_node(g, n, vals, params);
    }
  }
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

}  // namespace nfc
