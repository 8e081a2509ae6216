// The graph factory: interning plus the simplifications that are always
// wins (constant folding, identities, inverse-pair cancellation, canonical
// operand order), applied as each node is built.
#include "compiler/ir/Graph.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/ir/OpFormula.hpp"
#include "compiler/ir/Program.hpp"
#include "support/InternalError.hpp"

namespace nfc {

const char* op_spelling(Op op) {
  switch (op) {
#define NFC_UNARY(o, spelling, expr) \
  case Op::o:                        \
    return spelling;
#define NFC_BINARY(o, spelling, expr) \
  case Op::o:                         \
    return spelling;
#define NFC_TERNARY(o, spelling, expr) \
  case Op::o:                          \
    return spelling;
#define NFC_SPECIAL(o, spelling) \
  case Op::o:                    \
    return spelling;
#include "compiler/ir/Ops.def"
  }
  return "?";
}

int elementwise_arity(Op op) {
  switch (op) {
#define NFC_UNARY(o, spelling, expr) \
  case Op::o:                        \
    return 1;
#define NFC_BINARY(o, spelling, expr) \
  case Op::o:                         \
    return 2;
#define NFC_TERNARY(o, spelling, expr) \
  case Op::o:                          \
    return 3;
#define NFC_SPECIAL(o, spelling) \
  case Op::o:                    \
    return 0;
#include "compiler/ir/Ops.def"
  }
  return 0;
}

bool is_elementwise(Op op) {
  return elementwise_arity(op) > 0;
}

double eval_elementwise(Op op, double a, double b, double c) {
  return apply_formula(op, a, b, c);
}

size_t Graph::NodeHash::operator()(const Node& n) const {
  size_t h = static_cast<size_t>(n.op) * 0x9e3779b97f4a7c15ULL;
  auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(static_cast<size_t>(n.len));
  for (NodeId a : n.args) mix(static_cast<size_t>(a));
  mix(std::hash<double>{}(n.value));
  mix(static_cast<size_t>(n.index));
  mix(static_cast<size_t>(n.rows) * 31 + static_cast<size_t>(n.cols));
  mix(static_cast<size_t>(n.offset) * 31 + static_cast<size_t>(n.stride));
  for (int i : n.indices) mix(static_cast<size_t>(i));
  return h;
}

NodeId Graph::intern(Node n) {
  if (n.op == Op::constant && n.value == 0) n.value = 0;  // one zero: -0.0 == 0.0
  auto it = interned_.find(n);
  if (it != interned_.end()) return it->second;
  const auto id = static_cast<NodeId>(nodes_.size());
  nodes_.push_back(n);
  interned_.emplace(std::move(n), id);
  return id;
}

bool Graph::is_constant(NodeId id, double value) const {
  return node(id).op == Op::constant && node(id).value == value;
}

NodeId Graph::constant(double value) {
  Node n;
  n.op = Op::constant;
  n.value = value;
  return intern(std::move(n));
}

NodeId Graph::input(int index, int len) {
  Node n;
  n.op = Op::input;
  n.index = index;
  n.len = len;
  return intern(std::move(n));
}

NodeId Graph::var(int index, int len) {
  Node n;
  n.op = Op::var;
  n.index = index;
  n.len = len;
  return intern(std::move(n));
}

int Graph::add_var_name(std::string name) {
  var_names_.push_back(std::move(name));
  return static_cast<int>(var_names_.size()) - 1;
}

int Graph::add_param(std::string name, std::vector<int> shape, double init_bound) {
  ParamTensor t;
  t.init_bound = init_bound;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.size = 1;
  for (int s : t.shape) t.size *= s;
  t.offset = param_count_;
  param_count_ += t.size;
  params_.push_back(std::move(t));
  return static_cast<int>(params_.size()) - 1;
}

void Graph::set_param_init(int tensor, std::vector<double> values) {
  ParamTensor& t = params_.at(static_cast<size_t>(tensor));
  internal_check(static_cast<int64_t>(values.size()) == t.size, "initial values per element");
  t.init = std::move(values);
}

void Graph::keep_param_range(int tensor, double lo, double hi, std::string kept_for) {
  ParamTensor& t = params_.at(static_cast<size_t>(tensor));
  if (!t.kept()) t.kept_for = std::move(kept_for);
  t.keep_lo = std::max(t.keep_lo, lo);
  t.keep_hi = std::min(t.keep_hi, hi);
  internal_check(t.keep_lo < t.keep_hi, "a parameter kept in an empty range");
}

void Graph::mark_param_data(int tensor) {
  params_.at(static_cast<size_t>(tensor)).data = true;
}

void Graph::mark_param_constrained(int tensor) {
  params_.at(static_cast<size_t>(tensor)).constrained = true;
}

void Graph::set_param_row_lengths(int tensor, std::vector<int> row_lengths) {
  ParamTensor& t = params_.at(static_cast<size_t>(tensor));
  internal_check(t.shape.size() == 2 && static_cast<int>(row_lengths.size()) == t.shape[0],
                 "row lengths: one per row of a matrix");
  for (int l : row_lengths) internal_check(l >= 0 && l <= t.shape[1], "row length out of range");
  t.row_lengths = std::move(row_lengths);
}

NodeId Graph::param(int tensor) {
  Node n;
  n.op = Op::param;
  n.index = tensor;
  const int64_t size = params_.at(static_cast<size_t>(tensor)).size;
  internal_check(size <= std::numeric_limits<int>::max(), "parameter tensor too large for a node");
  n.len = static_cast<int>(size);
  return intern(std::move(n));
}

// Lengths of elementwise operands must agree, or be 1 (broadcast).
static int broadcast_len(int a, int b) {
  if (a == b || b == 1) return a;
  if (a == 1) return b;
  throw InternalError("elementwise operands of different lengths");
}

// Values that are >= 0 wherever defined: lets abs() vanish and log() split.
// At most `budget` nodes are looked at: a product chain of 10,000 lets (or
// a DAG whose factors share operands) is simply not proved, in constant time
// and stack.
static bool is_nonnegative(const Graph& g, NodeId id, int& budget) {
  if (--budget < 0) return false;
  const Node& n = g.node(id);
  switch (n.op) {
    case Op::exp:
    case Op::abs:
    case Op::sqrt:
    case Op::sigmoid:
    case Op::softplus:
    case Op::cosh:
      return true;
    case Op::constant:
      return n.value >= 0;
    case Op::mul:
    case Op::div:
      return is_nonnegative(g, n.args[0], budget) && is_nonnegative(g, n.args[1], budget);
    default:
      return false;
  }
}

static bool is_nonnegative(const Graph& g, NodeId id) {
  int budget = 64;
  return is_nonnegative(g, id, budget);
}

// f(g(x)) == x for these pairs on f's whole domain.
static bool cancels(Op outer, Op inner) {
  switch (outer) {
    case Op::log:
      return inner == Op::exp;
    case Op::tanh:
      return inner == Op::atanh;
    case Op::atanh:
      return inner == Op::tanh;
    case Op::sigmoid:
      return inner == Op::logit;
    case Op::logit:
      return inner == Op::sigmoid;
    case Op::sinh:
      return inner == Op::asinh;
    case Op::asinh:
      return inner == Op::sinh;
    case Op::expm1:
      return inner == Op::log1p;
    case Op::log1p:
      return inner == Op::expm1;
    case Op::neg:
      return inner == Op::neg;
    default:
      return false;
  }
}

NodeId Graph::fold_unary(Op op, NodeId a) {
  const Node n = node(a);  // a copy: building nodes below may reallocate the table
  if (n.op == Op::constant) return constant(eval_elementwise(op, n.value));
  if (cancels(op, n.op)) return n.args[0];
  if (op == Op::neg && n.op == Op::sub) return binary(Op::sub, n.args[1], n.args[0]);
  if (op == Op::abs) {
    if (is_nonnegative(*this, a)) return a;
    if (n.op == Op::neg) return unary(Op::abs, n.args[0]);
    if (n.op == Op::mul || n.op == Op::div)  // |a*b| = |a|*|b|
      return binary(n.op, unary(Op::abs, n.args[0]), unary(Op::abs, n.args[1]));
  }
  if (op == Op::log && (n.op == Op::mul || n.op == Op::div) && is_nonnegative(*this, n.args[0]) &&
      is_nonnegative(*this, n.args[1])) {
    // log(a*b) = log a + log b for a, b >= 0: lets log|det| shed exp() factors.
    const Op split = n.op == Op::mul ? Op::add : Op::sub;
    return binary(split, unary(Op::log, n.args[0]), unary(Op::log, n.args[1]));
  }
  // exp(log a) = a where log is defined (a > 0) and at a = 0 (exp(-inf) =
  // 0): only for a provably >= 0, else the rewrite would hide a NaN.
  if (op == Op::exp && n.op == Op::log && is_nonnegative(*this, n.args[0])) return n.args[0];
  if (op == Op::log && n.op == Op::pow && is_nonnegative(*this, n.args[0]))
    return binary(Op::mul, n.args[1], unary(Op::log, n.args[0]));  // log(a^b) = b log a
  return -1;
}

NodeId Graph::unary(Op op, NodeId a) {
  internal_check(elementwise_arity(op) == 1, "unary() needs a unary op");
  Node n;
  n.op = op;
  n.len = len(a);
  n.args = {a};
  if (const NodeId known = recall(n); known >= 0) return known;
  NodeId id = guarded_fold([&] { return fold_unary(op, a); });
  if (id < 0) id = intern(n);
  return remember(std::move(n), id);
}

NodeId Graph::recall(const Node& request) const {
  auto it = folded_.find(request);
  return it == folded_.end() ? -1 : it->second;
}

NodeId Graph::remember(Node request, NodeId result) {
  folded_.emplace(std::move(request), result);
  return result;
}

template <class Fold>
NodeId Graph::guarded_fold(Fold fold) {
  if (fold_depth_ >= kMaxFoldDepth) return -1;
  struct Depth {
    int& d;
    explicit Depth(int& depth) : d(++depth) {}
    ~Depth() { --d; }
  } depth(fold_depth_);
  return fold();
}

// a OP b where an operand is a select with a zero branch, as a select of
// the operation in each branch: select(c, u, 0) * p = select(c, u * p, 0 * p)
// and 0 * p folds to 0. The unselected lanes then never compute 0 * p, which
// is NaN where p is infinite or NaN (log(x) beyond a where(x > 0, ...), a
// spline formula outside its interval): a mask reaching a reverse-mode chain
// stays outermost all the way down. Only * and / (numerator): 0 OP p must
// fold to 0.
NodeId Graph::into_zero_select(Op op, NodeId a, NodeId b) {
  for (const bool left : {true, false}) {
    if (!left && op == Op::div) break;
    const Node s = node(left ? a : b);  // a copy: the factory may reallocate
    const NodeId other = left ? b : a;
    if (s.op != Op::select_pos || (!is_constant(s.args[1], 0) && !is_constant(s.args[2], 0)))
      continue;
    auto in = [&](NodeId branch) {
      return left ? binary(op, branch, other) : binary(op, other, branch);
    };
    return select_pos(s.args[0], in(s.args[1]), in(s.args[2]));
  }
  return -1;
}

NodeId Graph::fold_add(NodeId a, NodeId b) {
  if (is_constant(a, 0)) return b;
  if (is_constant(b, 0)) return a;
  {  // select(c, u, v) + select(c, p, q) = select(c, u + p, v + q): adjoints
     // of one select's branches meet again as one masked sum
    const Node na = node(a), nb = node(b);
    if (na.op == Op::select_pos && nb.op == Op::select_pos && na.args[0] == nb.args[0])
      return select_pos(na.args[0], binary(Op::add, na.args[1], nb.args[1]),
                        binary(Op::add, na.args[2], nb.args[2]));
  }
  if (node(b).op == Op::neg) return binary(Op::sub, a, node(b).args[0]);
  if (node(a).op == Op::neg) return binary(Op::sub, b, node(a).args[0]);
  if (a == b) return binary(Op::mul, constant(2), a);
  return -1;
}

NodeId Graph::fold_sub(NodeId a, NodeId b) {
  if (is_constant(b, 0)) return a;
  if (is_constant(a, 0)) return unary(Op::neg, b);
  if (a == b) return constant(0);
  if (node(b).op == Op::neg) return binary(Op::add, a, node(b).args[0]);
  // (x + c) - c = x, (c + x) - c = x
  if (node(a).op == Op::add) {
    if (node(a).args[1] == b) return node(a).args[0];
    if (node(a).args[0] == b) return node(a).args[1];
  }
  return -1;
}

NodeId Graph::fold_mul(NodeId a, NodeId b) {
  if (is_constant(a, 0) || is_constant(b, 0)) return constant(0);
  if (is_constant(a, 1)) return b;
  if (is_constant(b, 1)) return a;
  if (is_constant(a, -1)) return unary(Op::neg, b);
  if (is_constant(b, -1)) return unary(Op::neg, a);
  if (const NodeId pushed = into_zero_select(Op::mul, a, b); pushed >= 0) return pushed;
  const Node na = node(a), nb = node(b);  // copies: the factory may reallocate
  if (na.op == Op::neg && nb.op == Op::neg) return binary(Op::mul, na.args[0], nb.args[0]);
  if (na.op == Op::neg) return unary(Op::neg, binary(Op::mul, na.args[0], b));
  if (nb.op == Op::neg) return unary(Op::neg, binary(Op::mul, a, nb.args[0]));
  if (na.op == Op::exp && nb.op == Op::exp)  // e^u e^v = e^(u+v)
    return unary(Op::exp, binary(Op::add, na.args[0], nb.args[0]));
  // c1 * (c2 * x) = (c1 c2) * x
  if (na.op == Op::constant && nb.op == Op::mul && is_constant(nb.args[0]))
    return binary(Op::mul, constant(na.value * node(nb.args[0]).value), nb.args[1]);
  // (x / y) * y = x
  if (na.op == Op::div && na.args[1] == b) return na.args[0];
  if (nb.op == Op::div && nb.args[1] == a) return nb.args[0];
  return -1;
}

NodeId Graph::fold_div(NodeId a, NodeId b) {
  if (is_constant(b, 1)) return a;
  if (is_constant(b, -1)) return unary(Op::neg, a);
  if (is_constant(a, 0)) return constant(0);
  if (a == b) return constant(1);
  if (const NodeId pushed = into_zero_select(Op::div, a, b); pushed >= 0) return pushed;
  const Node na = node(a), nb = node(b);  // copies: the factory may reallocate
  if (nb.op == Op::exp)                   // a / e^u = a e^-u
    return binary(Op::mul, a, unary(Op::exp, unary(Op::neg, nb.args[0])));
  if (na.op == Op::neg) return unary(Op::neg, binary(Op::div, na.args[0], b));
  if (na.op == Op::mul) {  // (x*y)/y = x
    if (na.args[1] == b) return na.args[0];
    if (na.args[0] == b) return na.args[1];
  }
  return -1;
}

NodeId Graph::fold_pow(NodeId a, NodeId b) {
  if (is_constant(b, 1)) return a;
  if (is_constant(b, 0)) return constant(1);
  return -1;
}

NodeId Graph::fold_binary(Op op, NodeId a, NodeId b) {
  if (is_constant(a) && is_constant(b))
    return constant(eval_elementwise(op, node(a).value, node(b).value));
  switch (op) {
    case Op::add:
      return fold_add(a, b);
    case Op::sub:
      return fold_sub(a, b);
    case Op::mul:
      return fold_mul(a, b);
    case Op::div:
      return fold_div(a, b);
    case Op::pow:
      return fold_pow(a, b);
    default:
      return -1;
  }
}

NodeId Graph::binary(Op op, NodeId a, NodeId b) {
  internal_check(elementwise_arity(op) == 2, "binary() needs a binary op");
  Node n;
  n.op = op;
  n.len = broadcast_len(len(a), len(b));
  n.args = {a, b};
  if (const NodeId known = recall(n); known >= 0) return known;
  NodeId id = guarded_fold([&] { return fold_binary(op, a, b); });
  if (id < 0) {
    // Canonical order for commutative ops: constants first, then by id, so
    // a+b and b+a are one node.
    Node canonical = n;
    if ((op == Op::add || op == Op::mul) && !is_constant(a) && (is_constant(b) || b < a))
      std::swap(canonical.args[0], canonical.args[1]);
    id = intern(std::move(canonical));
  }
  return remember(std::move(n), id);
}

NodeId Graph::select_pos(NodeId cond, NodeId if_pos, NodeId otherwise) {
  Node n;
  n.op = Op::select_pos;
  n.len = broadcast_len(broadcast_len(len(cond), len(if_pos)), len(otherwise));
  n.args = {cond, if_pos, otherwise};
  if (const NodeId known = recall(n); known >= 0) return known;
  NodeId id = guarded_fold([&] { return fold_select(cond, if_pos, otherwise); });
  if (id < 0) id = intern(n);
  return remember(std::move(n), id);
}

NodeId Graph::fold_select(NodeId cond, NodeId if_pos, NodeId otherwise) {
  if (is_constant(cond)) return node(cond).value > 0 ? if_pos : otherwise;
  // select(c, select(c, u, v), w) = select(c, u, w), and likewise inside w
  if (node(if_pos).op == Op::select_pos && node(if_pos).args[0] == cond)
    return select_pos(cond, node(if_pos).args[1], otherwise);
  if (node(otherwise).op == Op::select_pos && node(otherwise).args[0] == cond)
    return select_pos(cond, if_pos, node(otherwise).args[2]);
  if (if_pos == otherwise) return if_pos;
  return -1;
}

MatrixView view_of(const Node& n) {
  return {n.offset, n.stride, n.indices};
}

namespace {

// A matvec/matvec_t node with its view checked and put in canonical form
// (explicit stride; no row lengths when every row is full).
Node matrix_node(Op op, const Graph& g, NodeId matrix, NodeId v, int rows, int cols,
                 MatrixView view) {
  if (view.stride == 0) view.stride = cols;
  internal_check(rows > 0 && cols > 0 && view.offset >= 0 && view.stride >= cols &&
                     view.offset + int64_t{rows - 1} * view.stride + cols <= g.len(matrix),
                 "matvec view outside its matrix");
  internal_check(view.row_lengths.empty() || static_cast<int>(view.row_lengths.size()) == rows,
                 "matvec: one row length per row");
  bool full = true;
  for (size_t r = 0; r < view.row_lengths.size(); ++r) {
    const int l = view.row_lengths[r];
    internal_check(l >= 0 && l <= cols && (r == 0 || l >= view.row_lengths[r - 1]),
                   "matvec row lengths must be non-decreasing and within cols");
    full = full && l == cols;
  }
  if (full) view.row_lengths.clear();
  Node n;
  n.op = op;
  n.rows = rows;
  n.cols = cols;
  n.offset = view.offset;
  n.stride = view.stride;
  n.indices = std::move(view.row_lengths);
  n.args = {matrix, v};
  return n;
}

}  // namespace

NodeId Graph::matvec(NodeId matrix, NodeId v, int rows, int cols, MatrixView view) {
  internal_check(len(v) == cols, "matvec shape mismatch");
  Node n = matrix_node(Op::matvec, *this, matrix, v, rows, cols, std::move(view));
  n.len = rows;
  return intern(std::move(n));
}

NodeId Graph::gather(NodeId v, std::vector<int> indices) {
  for (int i : indices) internal_check(i >= 0 && i < len(v), "gather index out of range");
  const Node& src = node(v);
  if (src.op == Op::constant) return v;  // a broadcast scalar gathers to itself
  bool identity = static_cast<int>(indices.size()) == len(v);
  for (size_t k = 0; identity && k < indices.size(); ++k) identity = indices[k] == int(k);
  if (identity) return v;
  if (src.op == Op::gather) {  // gather(gather(v, i), j) = gather(v, i[j])
    std::vector<int> composed;
    for (int k : indices) composed.push_back(src.indices[static_cast<size_t>(k)]);
    return gather(src.args[0], std::move(composed));
  }
  if (src.op == Op::concat) {  // picking exactly one part of a concat is that part
    int start = 0;
    for (NodeId part : src.args) {
      bool whole = static_cast<int>(indices.size()) == len(part);
      for (size_t k = 0; whole && k < indices.size(); ++k) whole = indices[k] == start + int(k);
      if (whole) return part;
      start += len(part);
    }
  }
  Node n;
  n.op = Op::gather;
  n.len = static_cast<int>(indices.size());
  n.args = {v};
  n.indices = std::move(indices);
  return intern(std::move(n));
}

NodeId Graph::concat(const std::vector<NodeId>& parts) {
  // Flatten nested concats and merge neighbouring gathers of one source.
  std::vector<NodeId> flat;
  for (NodeId p : parts) {
    const Node& n = node(p);
    if (n.op == Op::concat) {
      flat.insert(flat.end(), n.args.begin(), n.args.end());
    } else if (!flat.empty() && n.op == Op::gather && node(flat.back()).op == Op::gather &&
               node(flat.back()).args[0] == n.args[0]) {
      std::vector<int> merged = node(flat.back()).indices;
      merged.insert(merged.end(), n.indices.begin(), n.indices.end());
      flat.back() = gather(n.args[0], std::move(merged));
    } else {
      flat.push_back(p);
    }
  }
  internal_check(!flat.empty(), "concat of nothing");
  if (flat.size() == 1) return flat[0];
  Node n;
  n.op = Op::concat;
  n.len = 0;
  for (NodeId p : flat) n.len += len(p);
  n.args = std::move(flat);
  return intern(std::move(n));
}

NodeId Graph::sum(NodeId v) {
  if (len(v) == 1) return v;
  Node n;
  n.op = Op::sum;
  n.args = {v};
  return intern(std::move(n));
}

NodeId Graph::matvec_t(NodeId matrix, NodeId a, int rows, int cols, MatrixView view) {
  internal_check(len(a) == rows, "matvec_t shape mismatch");
  if (is_constant(a, 0)) return constant(0);
  Node n = matrix_node(Op::matvec_t, *this, matrix, a, rows, cols, std::move(view));
  n.len = cols;
  return intern(std::move(n));
}

NodeId Graph::scatter(NodeId a, std::vector<int> indices, int out_len) {
  internal_check(static_cast<int>(indices.size()) == len(a) || len(a) == 1,
                 "scatter: one index per element");
  for (int i : indices) internal_check(i >= 0 && i < out_len, "scatter index out of range");
  if (is_constant(a, 0)) return a;
  bool identity = static_cast<int>(indices.size()) == out_len;
  for (size_t k = 0; identity && k < indices.size(); ++k) identity = indices[k] == int(k);
  if (identity) return a;
  if (len(a) == 1 && indices.size() > 1) a = broadcast(a, static_cast<int>(indices.size()));
  Node n;
  n.op = Op::scatter;
  n.len = out_len;
  n.args = {a};
  n.indices = std::move(indices);
  return intern(std::move(n));
}

NodeId Graph::broadcast(NodeId a, int out_len) {
  internal_check(len(a) == 1 || len(a) == out_len, "broadcast needs a length-1 operand");
  if (len(a) == out_len) return a;
  Node n;
  n.op = Op::broadcast;
  n.len = out_len;
  n.args = {a};
  return intern(std::move(n));
}

NodeId Graph::solve(NodeId target, NodeId f, NodeId dfdx, NodeId x) {
  // The context: nodes free of x that the x-dependent part uses. They become
  // operands, so schedulers evaluate them before the solver's loop.
  std::vector<char> uses_x(nodes_.size(), 0);
  std::vector<NodeId> context;
  for (NodeId id : topological_order(*this, {f, dfdx})) {
    bool dep = id == x;
    for (NodeId a : node(id).args) dep = dep || uses_x[static_cast<size_t>(a)];
    uses_x[static_cast<size_t>(id)] = dep;
  }
  for (NodeId id : topological_order(*this, {f, dfdx})) {
    if (!uses_x[static_cast<size_t>(id)]) continue;
    for (NodeId a : node(id).args)
      if (!uses_x[static_cast<size_t>(a)] &&
          std::find(context.begin(), context.end(), a) == context.end())
        context.push_back(a);
  }
  // f or dfdx themselves may be free of x (dfdx = 2 exp(s) for f = 2 x exp(s)).
  for (NodeId root : {f, dfdx})
    if (!uses_x[static_cast<size_t>(root)] &&
        std::find(context.begin(), context.end(), root) == context.end())
      context.push_back(root);
  int n_len = len(target);
  for (NodeId c : context) n_len = broadcast_len(n_len, len(c));
  Node n;
  n.op = Op::solve;
  n.len = n_len;
  n.args = {target};
  n.args.insert(n.args.end(), context.begin(), context.end());
  n.indices = {f, dfdx, x};
  return intern(std::move(n));
}

std::vector<int> MadeSequence::degree_starts(size_t l) const {
  const std::vector<int>& degrees = layers.at(l).degrees;
  std::vector<int> starts;
  for (int k = 0; k <= dim; ++k)
    starts.push_back(
        static_cast<int>(std::lower_bound(degrees.begin(), degrees.end(), k) - degrees.begin()));
  return starts;
}

std::vector<int> MadeSequence::degree_prefixes(size_t l) const {
  const Layer& layer = layers.at(l);
  std::vector<int> prefixes(static_cast<size_t>(dim), 0);
  for (size_t r = 0; r < layer.degrees.size(); ++r)
    if (layer.degrees[r] < dim) prefixes[size_t(layer.degrees[r])] = layer.row_lengths[r];
  return prefixes;
}

std::vector<int> MadeSequence::output_prefixes() const {
  std::vector<int> prefixes;
  for (int k = 0; k < dim; ++k)
    prefixes.push_back(layers.back().row_lengths[size_t(k * params_per_dim)]);
  return prefixes;
}

int Graph::add_made_sequence(MadeSequence s) {
  internal_check(s.dim > 0 && s.params_per_dim > 0 && !s.layers.empty() &&
                     static_cast<int>(s.raw.size()) == s.params_per_dim,
                 "made_sequence: malformed");
  made_sequences_.push_back(std::move(s));
  return static_cast<int>(made_sequences_.size()) - 1;
}

NodeId Graph::made_sequence(NodeId v, const std::vector<NodeId>& weights, int made) {
  const MadeSequence& s = made_sequence_info(made);
  internal_check(len(v) == s.dim && weights.size() == 2 * s.layers.size(),
                 "made_sequence: operands do not match the layers");
  Node n;
  n.op = Op::made_sequence;
  n.len = s.dim * (1 + s.params_per_dim);
  n.index = made;
  n.args = {v};
  n.args.insert(n.args.end(), weights.begin(), weights.end());
  return intern(std::move(n));
}

NodeId Graph::made_adjoint(NodeId au, NodeId araw, NodeId sraw, const std::vector<NodeId>& slopes,
                           const std::vector<NodeId>& weights, int made) {
  const MadeSequence& s = made_sequence_info(made);
  const int D = s.dim, DP = s.dim * s.params_per_dim;
  bool ok = len(au) == D && len(araw) == DP && len(sraw) == DP &&
            slopes.size() + 1 == s.layers.size() && weights.size() == s.layers.size();
  for (size_t l = 0; ok && l < slopes.size(); ++l) ok = len(slopes[l]) == s.layers[l].rows;
  internal_check(ok, "made_adjoint: operands do not match the layers");
  Node n;
  n.op = Op::made_adjoint;
  n.len = D + DP;
  n.index = made;
  n.args = {au, araw, sraw};
  n.args.insert(n.args.end(), slopes.begin(), slopes.end());
  n.args.insert(n.args.end(), weights.begin(), weights.end());
  return intern(std::move(n));
}

Ex operator+(Ex a, Ex b) {
  return {a.g, a.g->binary(Op::add, a.id, b.id)};
}
Ex operator-(Ex a, Ex b) {
  return {a.g, a.g->binary(Op::sub, a.id, b.id)};
}
Ex operator*(Ex a, Ex b) {
  return {a.g, a.g->binary(Op::mul, a.id, b.id)};
}
Ex operator/(Ex a, Ex b) {
  return {a.g, a.g->binary(Op::div, a.id, b.id)};
}
Ex operator-(Ex a) {
  return {a.g, a.g->unary(Op::neg, a.id)};
}
Ex operator+(double a, Ex b) {
  return Ex{b.g, b.g->constant(a)} + b;
}
Ex operator+(Ex a, double b) {
  return a + Ex{a.g, a.g->constant(b)};
}
Ex operator-(double a, Ex b) {
  return Ex{b.g, b.g->constant(a)} - b;
}
Ex operator-(Ex a, double b) {
  return a - Ex{a.g, a.g->constant(b)};
}
Ex operator*(double a, Ex b) {
  return Ex{b.g, b.g->constant(a)} * b;
}
Ex operator*(Ex a, double b) {
  return a * Ex{a.g, a.g->constant(b)};
}
Ex operator/(double a, Ex b) {
  return Ex{b.g, b.g->constant(a)} / b;
}
Ex operator/(Ex a, double b) {
  return a / Ex{a.g, a.g->constant(b)};
}
Ex apply(Op op, Ex a) {
  return {a.g, a.g->unary(op, a.id)};
}
Ex pow(Ex a, double b) {
  return {a.g, a.g->binary(Op::pow, a.id, a.g->constant(b))};
}

}  // namespace nfc
