// Lowering a Program entry point to C++: one statement (or one loop) per
// node, in the buffer plan's order.
#include "compiler/backend/cpp/CppBackend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>

#include "compiler/analysis/BufferPlan.hpp"
#include "compiler/analysis/LoopBodies.hpp"
#include "compiler/ir/OpFormula.hpp"
#include "support/InternalError.hpp"

namespace nfc {

std::string cpp_real_literal(double value) {
  if (std::isnan(value)) return "std::numeric_limits<Real>::quiet_NaN()";
  if (std::isinf(value))
    return value > 0 ? "std::numeric_limits<Real>::infinity()"
                     : "-std::numeric_limits<Real>::infinity()";
  char text[40];
  for (int digits = 1; digits <= 17; ++digits) {  // shortest round trip
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  std::string s = text;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return "Real(" + s + ")";
}

namespace {

// Rows of a dense matvec computed together (emit_row_blocks): four
// independent sums cover the latency of an add on current x86-64 cores
// without spilling the block's accumulators (4 x 8 lanes).
constexpr int kRowBlock = 4;

// Partial sums of a one-sample dot product (emit_row_dots): 8 floats or
// doubles, one AVX register or a few SSE ones.
constexpr int kPartialSums = 8;

// "base + k", folded when k is a number.
std::string index(int64_t base, const std::string& k) {
  if (!k.empty() && k.find_first_not_of("0123456789") == std::string::npos)
    return std::to_string(base + std::stoll(k));
  return base == 0 ? k : std::to_string(base) + " + " + k;
}

class FunctionWriter {
 public:
  FunctionWriter(const Graph& g, const EntryPoint& entry, int lanes)
      : g_(g), entry_(entry), lanes_(lanes) {}
  std::string write(const std::string& name);

 private:
  bool needs_buffer(NodeId id) const;
  std::string element(NodeId id, const std::string& k) const;
  std::string slot(NodeId id, const std::string& k) const;
  void line(const std::string& text) { out_ << std::string(indent_, ' ') << text << '\n'; }
  // With lanes, every statement runs once per lane l; values of nodes,
  // input and output elements are indexed by l, parameters and constants
  // are shared.
  std::string lane() const { return lanes_ > 1 ? "[l]" : ""; }
  std::string per_lane() const {
    return lanes_ > 1 ? "for (int l = 0; l < " + std::to_string(lanes_) + "; ++l) " : "";
  }
  void stmt(const std::string& text) { line(per_lane() + text); }
  // `for (int VAR = 0; VAR < count; ++VAR) body(VAR)` on one line, or
  // body("0") when count is 1.
  void loop(int64_t count, const std::string& var,
            const std::function<std::string(const std::string&)>& body);

  void declare_acc() {
    line(lanes_ > 1 ? "Real acc[" + std::to_string(lanes_) + "] = {};" : "Real acc = 0;");
  }
  void emit_node(NodeId id);
  void emit_elementwise(NodeId id);
  void emit_dot_products(NodeId id, const std::string& out, const std::string& over);
  int emit_row_blocks(NodeId id);
  void emit_row_dots(NodeId id, const std::string& lengths);
  void emit_ordered_dot_products(NodeId id, const std::string& out, const std::string& over,
                                 const std::string& lengths);
  void emit_gather(NodeId id);
  void emit_concat(NodeId id);
  void emit_sum(NodeId id);
  void emit_scatter(NodeId id);
  void emit_solve(NodeId id);
  struct MadeLocals {
    std::vector<std::string> starts, prefixes, arrays;  // per hidden layer
    std::string outs;
  };
  MadeLocals made_locals(NodeId id, const MadeSequence& s, const std::string& array);
  std::string local_array(const std::string& name, int len);
  std::string made_weight(const MadeSequence& s, size_t l, NodeId w, const std::string& r) const;
  void emit_made_sequence(NodeId id);
  void emit_made_adjoint(NodeId id);
  void emit_accumulation(const Accumulation& a);
  void emit_locals(const std::vector<NodeId>& nodes, const std::string& k);
  std::string index_table(NodeId id, const std::vector<int>& indices, const std::string& tag = "");

  const Graph& g_;
  const EntryPoint& entry_;
  const int lanes_;
  BufferPlan plan_;
  std::ostringstream out_;
  int indent_ = 2;
  // Inside a solve's lambda: the x-dependent nodes, by their local names.
  std::map<NodeId, std::string> locals_;
};

// C++ source text as a formula value (OpFormula.hpp): each operation
// builds the text of its result, with parentheses only where C++'s
// precedence needs them.
struct CppExpr : FormulaArithmetic<CppExpr> {
  // Binding strength of the text's outermost operator.
  enum Level { conditional, additive, multiplicative, prefix, primary };
  std::string text;
  Level level = primary;

  CppExpr literal(double v) const { return {{}, cpp_real_literal(v), primary}; }
  // The text as an operand that must bind at least as tightly as `need`.
  std::string operand(Level need) const { return level >= need ? text : "(" + text + ")"; }
  static CppExpr binary(const CppExpr& a, const char* op, const CppExpr& b, Level level) {
    // Left-associative: the right operand must bind strictly tighter.
    const Level tighter = static_cast<Level>(level + 1);
    return {{}, a.operand(level) + op + b.operand(tighter), level};
  }
  static CppExpr call(const char* fn, const CppExpr& a) {
    return {{}, std::string("std::") + fn + "(" + a.text + ")", primary};
  }

  friend CppExpr operator+(const CppExpr& a, const CppExpr& b) {
    return binary(a, " + ", b, additive);
  }
  friend CppExpr operator-(const CppExpr& a, const CppExpr& b) {
    return binary(a, " - ", b, additive);
  }
  friend CppExpr operator*(const CppExpr& a, const CppExpr& b) {
    return binary(a, " * ", b, multiplicative);
  }
  friend CppExpr operator/(const CppExpr& a, const CppExpr& b) {
    return binary(a, " / ", b, multiplicative);
  }
  // A prefix operand is parenthesized too: "-" + "-x" would read "--x".
  friend CppExpr operator-(const CppExpr& a) { return {{}, "-" + a.operand(primary), prefix}; }
  friend CppExpr exp(const CppExpr& a) { return call("exp", a); }
  friend CppExpr log(const CppExpr& a) { return call("log", a); }
  friend CppExpr log1p(const CppExpr& a) { return call("log1p", a); }
  friend CppExpr expm1(const CppExpr& a) { return call("expm1", a); }
  friend CppExpr sqrt(const CppExpr& a) { return call("sqrt", a); }
  friend CppExpr fabs(const CppExpr& a) { return call("fabs", a); }
  friend CppExpr tanh(const CppExpr& a) { return call("tanh", a); }
  friend CppExpr atanh(const CppExpr& a) { return call("atanh", a); }
  friend CppExpr sinh(const CppExpr& a) { return call("sinh", a); }
  friend CppExpr cosh(const CppExpr& a) { return call("cosh", a); }
  friend CppExpr asinh(const CppExpr& a) { return call("asinh", a); }
  friend CppExpr sin(const CppExpr& a) { return call("sin", a); }
  friend CppExpr cos(const CppExpr& a) { return call("cos", a); }
  friend CppExpr erf(const CppExpr& a) { return call("erf", a); }
  friend CppExpr erfc(const CppExpr& a) { return call("erfc", a); }
  friend CppExpr atan(const CppExpr& a) { return call("atan", a); }
  friend CppExpr asin(const CppExpr& a) { return call("asin", a); }
  friend CppExpr acos(const CppExpr& a) { return call("acos", a); }
  friend CppExpr acosh(const CppExpr& a) { return call("acosh", a); }
  friend CppExpr cbrt(const CppExpr& a) { return call("cbrt", a); }
  friend CppExpr pow(const CppExpr& a, const CppExpr& b) {
    return {{}, "std::pow(" + a.text + ", " + b.text + ")", primary};
  }
  // compiler/ir/Erfinv.hpp, embedded in the emitted code where it is used.
  friend CppExpr erfinv(const CppExpr& a) { return {{}, "nfc::erfinv(" + a.text + ")", primary}; }
  friend CppExpr select_pos(const CppExpr& a, const CppExpr& b, const CppExpr& c) {
    return {
        {},
        a.operand(primary) + " > Real(0) ? " + b.operand(additive) + " : " + c.operand(additive),
        conditional};
  }
};

// The C++ text of an elementwise op on operand expressions (primary
// expressions: names, subscripts, Real(...)): the op's Ops.def formula.
std::string elementwise_expr(Op op, const std::string& a, const std::string& b,
                             const std::string& c) {
  return apply_formula(op, CppExpr{{}, a}, CppExpr{{}, b}, CppExpr{{}, c}).text;
}

// Constants, parameters, the input row and broadcasts are read where they
// are; every other node gets slots of the scratch array.
bool FunctionWriter::needs_buffer(NodeId id) const {
  const Op op = g_.node(id).op;
  return op != Op::constant && op != Op::param && op != Op::input && op != Op::broadcast;
}

std::string FunctionWriter::slot(NodeId id, const std::string& k) const {
  const int64_t at = plan_.offset[static_cast<size_t>(id)];
  internal_check(at >= 0, "cpp backend: a node without storage");
  return "s[" + index(at, g_.len(id) == 1 ? "0" : k) + "]" + lane();
}

// Element k of a node (k broadcasts for length-1 nodes).
std::string FunctionWriter::element(NodeId id, const std::string& k) const {
  const Node& n = g_.node(id);
  const std::string kk = n.len == 1 ? "0" : k;
  if (auto local = locals_.find(id); local != locals_.end()) return local->second;
  if (n.op == Op::constant) return cpp_real_literal(n.value);
  if (n.op == Op::param)
    return "p[" + index(g_.params().at(static_cast<size_t>(n.index)).offset, kk) + "]";
  if (n.op == Op::input) {
    internal_check(id == entry_.input, "cpp backend: input node is not the entry's input");
    if (lanes_ == 1) return "in[" + kk + "]";
    return "in[l * " + std::to_string(n.len) + (kk == "0" ? "" : " + " + kk) + "]";
  }
  if (n.op == Op::broadcast) return element(n.args[0], "0");
  return slot(id, kk);
}

void FunctionWriter::loop(int64_t count, const std::string& var,
                          const std::function<std::string(const std::string&)>& body) {
  if (count == 1) return stmt(body("0"));
  line("for (int " + var + " = 0; " + var + " < " + std::to_string(count) + "; ++" + var + ") " +
       per_lane() + body(var));
}

std::string FunctionWriter::write(const std::string& name) {
  const bool gradient = entry_.kind == EntryKind::mean_gradient;
  internal_check(gradient ? lanes_ == 1 : entry_.accumulations.empty(),
                 "cpp backend: a mean_gradient entry point is emitted for one sample");
  plan_ = plan_buffers(g_, entry_, [this](NodeId id) { return needs_buffer(id); });
  out_ << "// Entry point '" << entry_.name << "' for "
       << (lanes_ == 1 ? std::string("one sample.\n")
                       : std::to_string(lanes_) + " samples (rows of in and out_*).\n");
  out_ << (lanes_ > 1 ? "[[maybe_unused]] " : "") << "static void " << name
       << "([[maybe_unused]] const Real* p, [[maybe_unused]] const Real* in";
  for (size_t o = 0; o < entry_.outputs.size(); ++o) out_ << ", Real* out_" << o;
  if (gradient) out_ << ", Real* grad";
  out_ << ") {\n";
  if (plan_.slots > 0)
    line("Real s[" + std::to_string(plan_.slots) + "]" +
         (lanes_ > 1 ? "[" + std::to_string(lanes_) + "]" : "") + ";");
  for (size_t i = 0; i < plan_.order.size(); ++i) {
    emit_node(plan_.order[i]);
    // Gradient terms where their operands are ready: the plan frees their
    // slots right after.
    for (size_t k : plan_.accumulate_after[i]) emit_accumulation(entry_.accumulations[k]);
  }
  for (size_t o = 0; o < entry_.outputs.size(); ++o) {
    const NodeId id = entry_.outputs[o];
    loop(g_.len(id), "k", [&](const std::string& k) {
      const std::string row = lanes_ > 1 ? "l * " + std::to_string(g_.len(id)) + " + " : "";
      return "out_" + std::to_string(o) + "[" + row + k + "] = " + element(id, k) + ";";
    });
  }
  out_ << "}\n";
  return out_.str();
}

// One sample's share of a gradient term, added into grad (Program.hpp,
// Accumulation): a vector, or an outer product over its matrix view.
void FunctionWriter::emit_accumulation(const Accumulation& a) {
  if (a.value >= 0) {
    loop(g_.len(a.value), "k", [&](const std::string& k) {
      return "grad[" + index(a.offset, k) + "] += " + element(a.value, k) + ";";
    });
    return;
  }
  const int rows = g_.len(a.outer_a), cols = g_.len(a.outer_b);
  const int stride = a.stride == 0 ? cols : a.stride;
  std::string bound = std::to_string(cols);
  if (!a.row_lengths.empty())
    bound = index_table(a.outer_a, a.row_lengths, "grad" + std::to_string(a.offset)) + "[r]";
  line("for (int r = 0; r < " + std::to_string(rows) + "; ++r)");
  line("  for (int c = 0; c < " + bound + "; ++c) grad[" +
       index(a.offset, "r * " + std::to_string(stride) + " + c") +
       "] += " + element(a.outer_a, "r") + " * " + element(a.outer_b, "c") + ";");
}

// No `default:`: a new op in Ops.def must be taught here.
void FunctionWriter::emit_node(NodeId id) {
  switch (g_.node(id).op) {
#define NFC_UNARY(o, spelling, expr) case Op::o:
#define NFC_BINARY(o, spelling, expr) case Op::o:
#define NFC_TERNARY(o, spelling, expr) case Op::o:
#include "compiler/ir/Ops.def"
    return emit_elementwise(id);
    case Op::constant:
    case Op::param:
    case Op::input:
    case Op::broadcast:
      return;  // no code: element() reads them where they are used
    case Op::var:
      throw InternalError("cpp backend: 'var' node left in a lowered program");
    case Op::matvec:
      return emit_dot_products(id, "r", "c");
    case Op::gather:
      return emit_gather(id);
    case Op::concat:
      return emit_concat(id);
    case Op::sum:
      return emit_sum(id);
    case Op::matvec_t:
      return emit_dot_products(id, "c", "r");
    case Op::scatter:
      return emit_scatter(id);
    case Op::solve:
      return emit_solve(id);
    case Op::made_sequence:
      return emit_made_sequence(id);
    case Op::made_adjoint:
      return emit_made_adjoint(id);
  }
}

void FunctionWriter::emit_elementwise(NodeId id) {
  const Node& n = g_.node(id);
  loop(n.len, "k", [&](const std::string& k) {
    auto arg = [&](size_t i) { return i < n.args.size() ? element(n.args[i], k) : std::string(); };
    return slot(id, k) + " = " + elementwise_expr(n.op, arg(0), arg(1), arg(2)) + ";";
  });
}

// matvec:   out[r] = sum_c M[offset + r * stride + c] v[c], from 0 in column order;
// matvec_t: out[c] = sum_r M[offset + r * stride + c] a[r], from 0 in row order;
// with row lengths (Graph.hpp: MatrixView), only the c < len[r] terms.
// `out` and `over` name the loop variables ("r"/"c") of the result and
// of the sum; in a block the accumulator is one per lane.
void FunctionWriter::emit_dot_products(NodeId id, const std::string& out, const std::string& over) {
  const Node& n = g_.node(id);
  const std::string lengths = n.indices.empty() ? "" : index_table(id, n.indices, "len");
  // One sample where the compiler targets AVX: each row's dot product in
  // vectors along the row; otherwise sums in index order, as in a block.
  const bool row_dots = out == "r" && lanes_ == 1 && n.cols >= kPartialSums;
  if (row_dots) {
    line("#if defined(__AVX__)");
    emit_row_dots(id, lengths);
    line("#else");
  }
  emit_ordered_dot_products(id, out, over, lengths);
  if (row_dots) line("#endif");
}

// The sums of a matvec or matvec_t in index order. A dense matvec runs
// kRowBlock rows at a time, the rest one by one.
void FunctionWriter::emit_ordered_dot_products(NodeId id, const std::string& out,
                                               const std::string& over,
                                               const std::string& lengths) {
  const Node& n = g_.node(id);
  const int first = out == "r" && lengths.empty() ? emit_row_blocks(id) : 0;
  if (out == "r" && first == n.rows) return;
  auto head = [&](const std::string& var) {
    const bool cols = var == "c";
    const std::string bound = cols && !lengths.empty() && out == "r"
                                  ? lengths + "[r]"
                                  : std::to_string(cols ? n.cols : n.rows);
    const std::string start = var == out ? std::to_string(first) : "0";
    return "for (int " + var + " = " + start + "; " + var + " < " + bound + "; ++" + var + ")";
  };
  // matvec_t over a staircase: row r contributes to column c only if c < len[r].
  const std::string guard =
      !lengths.empty() && out == "c" ? "if (c < " + lengths + "[r]) " : std::string();
  line(head(out) + " {  // " + op_spelling(n.op));
  indent_ += 2;
  declare_acc();
  line(head(over) + " " + guard + per_lane() + "acc" + lane() +
       " += " + element(n.args[0], index(n.offset, "r * " + std::to_string(n.stride) + " + c")) +
       " * " + element(n.args[1], over) + ";");
  stmt(slot(id, out) + " = acc" + lane() + ";");
  indent_ -= 2;
  line("}");
}

// One sample's matvec, row by row, each dot product as kPartialSums partial
// sums over columns c = j mod kPartialSums, added pairwise at the end: a
// short fixed loop over contiguous elements of the row and of v that C++
// compilers vectorise at -O2 (the one-sample JIT does the same,
// MatrixKernels.cpp), where a single sum in index order stays scalar.
// Emitted for AVX targets only: with SSE2's two doubles per vector the
// in-order rows blocks run faster (measured on moons: 3.7 against 6.3 µs in
// f64). The rounding differs from the batch blocks' in-order sums, as the
// JIT's one-sample path differs from its batches. With row lengths (a
// MADE's staircase) only c < len[r].
void FunctionWriter::emit_row_dots(NodeId id, const std::string& lengths) {
  const Node& n = g_.node(id);
  const std::string k = std::to_string(kPartialSums);
  line("for (int r = 0; r < " + std::to_string(n.rows) + "; ++r) {  // " + op_spelling(n.op) +
       ", " + k + " partial sums per row");
  indent_ += 2;
  line("const int cols = " + (lengths.empty() ? std::to_string(n.cols) : lengths + "[r]") +
       ", whole = cols / " + k + " * " + k + ";");
  line("Real part[" + k + "] = {};");
  line("for (int c = 0; c < whole; c += " + k + ")");
  line("  for (int j = 0; j < " + k + "; ++j) part[j] += " +
       element(n.args[0], index(n.offset, "r * " + std::to_string(n.stride) + " + c + j")) + " * " +
       element(n.args[1], "c + j") + ";");
  static_assert(kPartialSums == 8, "the pairwise sum below adds 8 partial sums");
  line(
      "Real acc = ((part[0] + part[1]) + (part[2] + part[3])) + "
      "((part[4] + part[5]) + (part[6] + part[7]));");
  line("for (int c = whole; c < cols; ++c) acc += " +
       element(n.args[0], index(n.offset, "r * " + std::to_string(n.stride) + " + c")) + " * " +
       element(n.args[1], "c") + ";");
  stmt(slot(id, "r") + " = acc;");
  indent_ -= 2;
  line("}");
}

// Rows r < R - R % kRowBlock of a dense matvec, kRowBlock at a time: each
// row's sum still runs over c from 0 in order (the same rounding as one
// row at a time, so batch and one-sample results stay identical), but the
// rows' sums are independent chains the CPU overlaps, and a block shares
// each load of v. Returns the first row left.
int FunctionWriter::emit_row_blocks(NodeId id) {
  const Node& n = g_.node(id);
  const int whole = n.rows / kRowBlock * kRowBlock;
  if (whole == 0) return 0;
  const std::string b = std::to_string(kRowBlock);
  line("for (int r = 0; r < " + std::to_string(whole) + "; r += " + b + ") {  // " +
       op_spelling(n.op) + ", " + b + " rows at a time");
  indent_ += 2;
  line("Real acc[" + b + "]" + (lanes_ > 1 ? "[" + std::to_string(lanes_) + "]" : "") + " = {};");
  line("for (int c = 0; c < " + std::to_string(n.cols) + "; ++c) " + per_lane() + "{");
  indent_ += 2;
  line("const Real v = " + element(n.args[1], "c") + ";");
  for (int j = 0; j < kRowBlock; ++j)
    line("acc[" + std::to_string(j) + "]" + lane() + " += " +
         element(n.args[0], index(n.offset, "(r + " + std::to_string(j) + ") * " +
                                                std::to_string(n.stride) + " + c")) +
         " * v;");
  indent_ -= 2;
  line("}");
  for (int j = 0; j < kRowBlock; ++j)
    stmt(slot(id, "r + " + std::to_string(j)) + " = acc[" + std::to_string(j) + "]" + lane() + ";");
  indent_ -= 2;
  line("}");
  return whole;
}

// A static table of indices, named after the node (and `tag`).
std::string FunctionWriter::index_table(NodeId id, const std::vector<int>& indices,
                                        const std::string& tag) {
  const std::string name = "index" + std::to_string(id) + tag;
  std::string values;
  for (size_t k = 0; k < indices.size(); ++k)
    values += (k ? ", " : "") + std::to_string(indices[k]);
  line("static const int " + name + "[] = {" + values + "};");
  return name;
}

void FunctionWriter::emit_gather(NodeId id) {
  const Node& n = g_.node(id);
  if (n.indices.size() <= size_t{kUnrollMax}) {
    for (size_t k = 0; k < n.indices.size(); ++k)
      stmt(slot(id, std::to_string(k)) + " = " + element(n.args[0], std::to_string(n.indices[k])) +
           ";");
    return;
  }
  const std::string table = index_table(id, n.indices);
  loop(n.len, "k", [&](const std::string& k) {
    return slot(id, k) + " = " + element(n.args[0], table + "[" + k + "]") + ";";
  });
}

void FunctionWriter::emit_concat(NodeId id) {
  int64_t start = 0;
  for (NodeId part : g_.node(id).args) {
    loop(g_.len(part), "k", [&](const std::string& k) {
      return slot(id, index(start, k)) + " = " + element(part, k) + ";";
    });
    start += g_.len(part);
  }
}

// From 0, left to right, like the interpreter.
void FunctionWriter::emit_sum(NodeId id) {
  const NodeId src = g_.node(id).args[0];
  line("{");
  indent_ += 2;
  declare_acc();
  loop(g_.len(src), "k",
       [&](const std::string& k) { return "acc" + lane() + " += " + element(src, k) + ";"; });
  stmt(slot(id, "0") + " = acc" + lane() + ";");
  indent_ -= 2;
  line("}");
}

// out = 0; out[indices[k]] += a[k] in order of k.
void FunctionWriter::emit_scatter(NodeId id) {
  const Node& n = g_.node(id);
  loop(n.len, "k", [&](const std::string& k) { return slot(id, k) + " = 0;"; });
  if (n.indices.size() <= size_t{kUnrollMax}) {
    for (size_t k = 0; k < n.indices.size(); ++k)
      stmt(slot(id, std::to_string(n.indices[k])) + " += " + element(n.args[0], std::to_string(k)) +
           ";");
    return;
  }
  const std::string table = index_table(id, n.indices);
  loop(static_cast<int64_t>(n.indices.size()), "k", [&](const std::string& k) {
    return slot(id, table + "[" + k + "]") + " += " + element(n.args[0], k) + ";";
  });
}

// Element by element, newton_bisection (NewtonBisection.hpp, embedded in
// the emitted file) on a lambda that evaluates the x-dependent part of f
// and dfdx at the iterate; x-free values (solve's operands, constants,
// parameters) are read from where they already are.
void FunctionWriter::emit_solve(NodeId id) {
  const Node& n = g_.node(id);
  const SolveBody body = solve_body(g_, id);
  line("for (int k = 0; k < " + std::to_string(n.len) + "; ++k) " + per_lane() + "{  // solve");
  indent_ += 2;
  line("auto f_and_dfdx = [&]([[maybe_unused]] Real x) {");
  indent_ += 2;
  locals_[body.x] = "x";
  emit_locals(body.nodes, "k");
  line("return std::pair<Real, Real>(" + element(body.f, "k") + ", " + element(body.dfdx, "k") +
       ");");
  locals_.clear();
  indent_ -= 2;
  line("};");
  line(slot(id, "k") + " = nfc::newton_bisection<Real>(" + element(n.args[0], "k") +
       ", f_and_dfdx);");
  indent_ -= 2;
  line("}");
}

// What a made_sequence and a made_adjoint loop over: per hidden layer, the
// rows of degree k are [starts[k], starts[k + 1]) and read the first
// prefixes[k] inputs; the output rows of position k read the first outs[k]
// units; one local array per hidden layer, named `array` + id + "_" + l.
FunctionWriter::MadeLocals FunctionWriter::made_locals(NodeId id, const MadeSequence& s,
                                                       const std::string& array) {
  MadeLocals m;
  for (size_t l = 0; l + 1 < s.layers.size(); ++l) {
    const std::string tag = std::to_string(l);
    m.starts.push_back(index_table(id, s.degree_starts(l), "start" + tag));
    m.prefixes.push_back(index_table(id, s.degree_prefixes(l), "prefix" + tag));
    m.arrays.push_back(local_array(array + std::to_string(id) + "_" + tag, s.layers[l].rows));
  }
  m.outs = index_table(id, s.output_prefixes(), "out");
  return m;
}

// A zeroed local array of `len` values (per lane).
std::string FunctionWriter::local_array(const std::string& name, int len) {
  line("Real " + name + "[" + std::to_string(len) + "]" +
       (lanes_ > 1 ? "[" + std::to_string(lanes_) + "]" : "") + " = {};");
  return name;
}

// Weight w[r, first_col + c] of layer l of a MADE loop.
std::string FunctionWriter::made_weight(const MadeSequence& s, size_t l, NodeId w,
                                        const std::string& r) const {
  return element(w, "(" + r + ") * " + std::to_string(s.layers[l].cols) + " + " +
                        std::to_string(s.layers[l].first_col) + " + c");
}

// made_sequence (Ops.def): a loop over positions k, each lane on its own.
// Per hidden layer the rows of degree k are [start[k], start[k + 1]) of a
// table, all reading the first prefix[k] inputs; then the P outputs of
// position k; then the step, u_k, written like a solve's lambda body.
void FunctionWriter::emit_made_sequence(NodeId id) {
  const Node& n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  const int D = s.dim, P = s.params_per_dim;
  const size_t L = s.layers.size();
  line("{  // made_sequence");
  indent_ += 2;
  const MadeLocals m = made_locals(id, s, "h");
  // Input c of layer l: u_c (this node's first D elements) or a hidden unit.
  auto input = [&](size_t l, const std::string& c) {
    return l == 0 ? slot(id, c) : m.arrays[l - 1] + "[" + c + "]" + lane();
  };
  // acc = b[r] + sum_{c < count} w[r * cols + c] in_c
  auto dot = [&](size_t l, const std::string& r, const std::string& count) {
    line("Real acc = " + element(n.args[MadeSequence::bias_arg(l)], r) + ";");
    line("for (int c = 0; c < " + count + "; ++c) acc += " +
         made_weight(s, l, n.args[MadeSequence::weights_arg(l)], r) + " * " + input(l, "c") + ";");
  };
  line("for (int k = 0; k < " + std::to_string(D) + "; ++k) " + per_lane() + "{");
  indent_ += 2;
  for (size_t l = 0; l + 1 < L; ++l) {
    line("for (int r = " + m.starts[l] + "[k]; r < " + m.starts[l] + "[k + 1]; ++r) {");
    indent_ += 2;
    dot(l, "r", m.prefixes[l] + "[k]");
    std::string value = elementwise_expr(s.act, "acc", "", "");
    if (s.layers[l].residual) value = "(" + value + ") + " + input(l, "r");
    line(m.arrays[l] + "[r]" + lane() + " = " + value + ";");
    indent_ -= 2;
    line("}");
  }
  for (int p = 0; p < P; ++p) {
    const std::string r = "k * " + std::to_string(P) + " + " + std::to_string(p);
    line("{");
    indent_ += 2;
    dot(L - 1, r, m.outs + "[k]");
    line(slot(id, index(D, r)) + " = acc;");
    locals_[s.raw[size_t(p)]] = slot(id, index(D, r));
    indent_ -= 2;
    line("}");
  }
  locals_[s.target] = element(n.args[0], "k");
  emit_locals(made_sequence_step(g_, s).nodes, "k");
  line(slot(id, "k") + " = " + element(s.step, "k") + ";");
  locals_.clear();
  indent_ -= 2;
  line("}");
  indent_ -= 2;
  line("}");
}

// made_adjoint (Ops.def): the reverse sweep, k from D - 1 down to 0, each
// lane on its own. Adjoints of u and of the hidden units are local arrays.
void FunctionWriter::emit_made_adjoint(NodeId id) {
  const Node& n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  const int D = s.dim, P = s.params_per_dim;
  const size_t L = s.layers.size();
  line("{  // made_adjoint");
  indent_ += 2;
  const MadeLocals m = made_locals(id, s, "ha");
  // adj[l]: the adjoint of layer l's input (u, then the hidden layers).
  std::vector<std::string> adj{local_array("ua" + std::to_string(id), D)};
  adj.insert(adj.end(), m.arrays.begin(), m.arrays.end());
  // Row r of layer l sends `delta` back to the adjoint of its input.
  auto back = [&](size_t l, const std::string& r, const std::string& count,
                  const std::string& delta) {
    line("for (int c = 0; c < " + count + "; ++c) " + adj[l] + "[c]" + lane() +
         " += " + made_weight(s, l, n.args[s.adjoint_weights_arg(l)], r) + " * " + delta + ";");
  };
  line("for (int j = 0; j < " + std::to_string(D) + "; ++j) " + per_lane() + "{");
  indent_ += 2;
  line("const int k = " + std::to_string(D - 1) + " - j;");
  line("const Real t = " + element(n.args[0], "k") + " + " + adj[0] + "[k]" + lane() + ";");
  line(slot(id, "k") + " = t;");
  line("for (int r = k * " + std::to_string(P) + "; r < (k + 1) * " + std::to_string(P) +
       "; ++r) {");
  indent_ += 2;
  line("const Real rho = " + element(n.args[1], "r") + " + " + element(n.args[2], "r") + " * t;");
  line(slot(id, index(D, "r")) + " = rho;");
  back(L - 1, "r", m.outs + "[k]", "rho");
  indent_ -= 2;
  line("}");
  for (size_t l = L - 1; l-- > 0;) {
    const std::string h = adj[l + 1] + "[r]" + lane();
    line("for (int r = " + m.starts[l] + "[k]; r < " + m.starts[l] + "[k + 1]; ++r) {");
    indent_ += 2;
    if (s.layers[l].residual) line(adj[l] + "[r]" + lane() + " += " + h + ";");
    line("const Real delta = " + h + " * " + element(n.args[MadeSequence::slope_arg(l)], "r") +
         ";");
    back(l, "r", m.prefixes[l] + "[k]", "delta");
    indent_ -= 2;
    line("}");
  }
  indent_ -= 2;
  line("}");
  indent_ -= 2;
  line("}");
}

// The loop body `nodes` (LoopBodies.hpp) at element k as local constants,
// each named in locals_ for the nodes after it.
void FunctionWriter::emit_locals(const std::vector<NodeId>& nodes, const std::string& k) {
  for (NodeId j : nodes) {
    const Node& jn = g_.node(j);
    const std::string name = "x" + std::to_string(j);
    auto arg = [&](size_t i) {
      return i < jn.args.size() ? element(jn.args[i], k) : std::string();
    };
    line("const Real " + name + " = " +
         (jn.op == Op::broadcast ? arg(0) : elementwise_expr(jn.op, arg(0), arg(1), arg(2))) + ";");
    locals_[j] = name;
  }
}

}  // namespace

std::string emit_cpp_function(const Program& program, const EntryPoint& entry,
                              const std::string& function_name, int lanes) {
  internal_check(program.graph != nullptr && lanes >= 1, "cpp backend: bad arguments");
  return FunctionWriter(*program.graph, entry, lanes).write(function_name);
}

}  // namespace nfc
