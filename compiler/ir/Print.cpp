// Printing graphs for people.
#include "compiler/ir/Print.hpp"

#include <fmt/format.h>

#include <unordered_map>

namespace nfc {

namespace {

int precedence(const Node& n) {
  switch (n.op) {
    case Op::add:
    case Op::sub:
      return 1;
    case Op::mul:
    case Op::div:
      return 2;
    case Op::neg:
      return 3;
    case Op::pow:
      return 4;
    default:
      return 5;
  }
}

std::string index_list(const std::vector<int>& v) {
  return fmt::format("[{}]", fmt::join(v, ", "));
}

// A matvec's view of its matrix when it is not the whole dense matrix:
// "[rows x cols at offset, stride s, staircase]".
std::string view_suffix(const Node& n) {
  if (n.offset == 0 && n.stride == n.cols && n.indices.empty()) return "";
  std::string s = fmt::format("[{}x{} at {}, stride {}", n.rows, n.cols, n.offset, n.stride);
  if (!n.indices.empty()) s += ", staircase";
  return s + "]";
}

std::string leaf_name(const Graph& g, const Node& n) {
  switch (n.op) {
    case Op::constant:
      return fmt::format("{}", n.value);
    case Op::input:
      return n.index == 0 ? "x" : "z";
    case Op::var:
      return g.var_name(n.index);
    case Op::param:
      return g.params()[static_cast<size_t>(n.index)].name;
    default:
      return {};
  }
}

// Prints into one string with a budget: a derived expression is a DAG, and
// printed as a tree it can be exponentially long (each let using the one
// before twice), and a chain of 10,000 lets is 10,000 levels deep. Past
// `max_chars` characters or kMaxDepth levels a subexpression prints as "…",
// so printing is linear in the budget and the stack stays shallow.
class InfixPrinter {
 public:
  InfixPrinter(const Graph& g, size_t max_chars) : g_(g), max_chars_(max_chars) {}

  std::string print(NodeId id) {
    expr(id, 0);
    return std::move(out_);
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool exhausted(int depth) const { return out_.size() >= max_chars_ || depth >= kMaxDepth; }

  void expr(NodeId id, int depth) {
    if (exhausted(depth)) {
      out_ += "\u2026";
      return;
    }
    const Node& n = g_.node(id);
    if (std::string leaf = leaf_name(g_, n); !leaf.empty()) {
      out_ += n.op == Op::constant && n.value < 0 ? "(" + leaf + ")" : leaf;
      return;
    }
    ++depth;
    switch (elementwise_arity(n.op)) {
      case 1:
        if (n.op == Op::neg) {
          out_ += "-";
          operand(n, 0, true, depth);
        } else {
          call(op_spelling(n.op), n.args, depth);
        }
        return;
      case 2:
        operand(n, 0, false, depth);
        out_ += fmt::format(" {} ", op_spelling(n.op));
        operand(n, 1, true, depth);
        return;
      case 3:
        call("select_pos", n.args, depth);
        return;
      default:
        structural(n, depth);
    }
  }

  // An operand is parenthesised when it binds less tightly than its user
  // (or equally, on the right of a non-associative operator).
  void operand(const Node& n, size_t i, bool right, int depth) {
    const int p = precedence(g_.node(n.args[i])), mine = precedence(n);
    const bool wrap = p < mine || (right && p == mine && n.op != Op::add && n.op != Op::mul) ||
                      (n.op == Op::pow && p == mine);
    if (wrap) out_ += "(";
    expr(n.args[i], depth);
    if (wrap) out_ += ")";
  }

  void call(std::string_view name, const std::vector<NodeId>& args, int depth) {
    out_ += name;
    out_ += "(";
    for (size_t i = 0; i < args.size(); ++i) {
      if (i > 0) out_ += ", ";
      expr(args[i], depth);
    }
    out_ += ")";
  }

  void structural(const Node& n, int depth) {
    switch (n.op) {
      case Op::gather:
        expr(n.args[0], depth);
        out_ += index_list(n.indices);
        return;
      case Op::matvec:
      case Op::matvec_t:
        expr(n.args[0], depth);
        out_ += view_suffix(n) + (n.op == Op::matvec_t ? "^T @ " : " @ ");
        operand(n, 1, true, depth);
        return;
      case Op::sum:
        call("sum", n.args, depth);
        return;
      case Op::scatter:
        out_ += "scatter(";
        expr(n.args[0], depth);
        out_ += fmt::format(", {}, {})", index_list(n.indices), n.len);
        return;
      case Op::broadcast:
        out_ += "broadcast(";
        expr(n.args[0], depth);
        out_ += fmt::format(", {})", n.len);
        return;
      case Op::made_sequence:
        call(fmt::format("made_sequence{}", n.index), {n.args[0]}, depth);
        return;
      case Op::made_adjoint:
        call(fmt::format("made_adjoint{}", n.index), {n.args[0], n.args[1]}, depth);
        return;
      case Op::solve:
        out_ += "solve(";
        expr(n.indices[0], depth);
        out_ += " = ";
        expr(n.args[0], depth);
        out_ += " for ";
        expr(n.indices[2], depth);
        out_ += ")";
        return;
      default:
        call("concat", n.args, depth);
    }
  }

  const Graph& g_;
  size_t max_chars_;
  std::string out_;
};

}  // namespace

std::string to_infix(const Graph& g, NodeId id, size_t max_chars) {
  return InfixPrinter(g, max_chars).print(id);
}

void print_listing(std::ostream& out, const Graph& g, const EntryPoint& entry) {
  std::unordered_map<NodeId, std::string> names;
  auto name = [&](NodeId id) {
    const std::string leaf = leaf_name(g, g.node(id));
    return leaf.empty() ? names.at(id) : leaf;
  };
  out << "entry " << entry.name << "(" << name(entry.input) << ")\n";
  for (NodeId id : topological_order(g, entry.outputs)) {
    const Node& n = g.node(id);
    if (!leaf_name(g, n).empty()) continue;
    names[id] = "%" + std::to_string(id);
    std::vector<std::string> args;
    for (NodeId a : n.args) args.push_back(name(a));
    std::string extra;
    if (n.op == Op::gather || n.op == Op::scatter) extra = " " + index_list(n.indices);
    out << fmt::format("  {} = {}({}){}  [{}]\n", names[id], op_spelling(n.op),
                       fmt::join(args, ", "), extra, n.len);
  }
  std::vector<std::string> results;
  for (NodeId o : entry.outputs) results.push_back(name(o));
  out << "  return " << fmt::format("{}", fmt::join(results, ", ")) << "\n";
}

}  // namespace nfc
