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

}  // namespace

std::string to_infix(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  if (std::string leaf = leaf_name(g, n); !leaf.empty()) {
    if (n.op == Op::constant && n.value < 0) return "(" + leaf + ")";
    return leaf;
  }
  // An operand is parenthesised when it binds less tightly than its user
  // (or equally, on the right of a non-associative operator).
  auto operand = [&](size_t i, bool right) {
    const std::string s = to_infix(g, n.args[i]);
    const int p = precedence(g.node(n.args[i])), mine = precedence(n);
    const bool wrap = p < mine || (right && p == mine && n.op != Op::add && n.op != Op::mul) ||
                      (n.op == Op::pow && p == mine);
    return wrap ? "(" + s + ")" : s;
  };
  switch (elementwise_arity(n.op)) {
    case 1:
      if (n.op == Op::neg) return "-" + operand(0, true);
      return fmt::format("{}({})", op_spelling(n.op), to_infix(g, n.args[0]));
    case 2:
      return fmt::format("{} {} {}", operand(0, false), op_spelling(n.op), operand(1, true));
    case 3:
      return fmt::format("select_pos({}, {}, {})", to_infix(g, n.args[0]), to_infix(g, n.args[1]),
                         to_infix(g, n.args[2]));
    default:
      break;
  }
  switch (n.op) {
    case Op::gather:
      return to_infix(g, n.args[0]) + index_list(n.indices);
    case Op::matvec:
      return fmt::format("{}{} @ {}", to_infix(g, n.args[0]), view_suffix(n), operand(1, true));
    case Op::sum:
      return fmt::format("sum({})", to_infix(g, n.args[0]));
    case Op::matvec_t:
      return fmt::format("{}{}^T @ {}", to_infix(g, n.args[0]), view_suffix(n), operand(1, true));
    case Op::scatter:
      return fmt::format("scatter({}, {}, {})", to_infix(g, n.args[0]), index_list(n.indices),
                         n.len);
    case Op::broadcast:
      return fmt::format("broadcast({}, {})", to_infix(g, n.args[0]), n.len);
    case Op::made_sequence:
      return fmt::format("made_sequence{}({})", n.index, to_infix(g, n.args[0]));
    case Op::solve:
      return fmt::format("solve({} = {} for {})", to_infix(g, n.indices[0]), to_infix(g, n.args[0]),
                         to_infix(g, n.indices[2]));
    default: {
      std::vector<std::string> parts;
      for (NodeId a : n.args) parts.push_back(to_infix(g, a));
      return fmt::format("concat({})", fmt::join(parts, ", "));
    }
  }
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
