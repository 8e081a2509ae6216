// made_sequence nodes: a MADE's inverse, one position at a time, as one
// emitted loop over the positions, in a function shared by every
// made_sequence of the same shape (SharedLoops.cpp). Also what made_adjoint
// shares with it: the tables and the blocks of rows of one degree.
#include <fmt/format.h>
#include <llvm/IR/Module.h>

#include <unordered_map>

#include "compiler/analysis/LoopBodies.hpp"
#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

namespace {

// Rows of a hidden layer handled together, per position.
constexpr int kRows = 4;

}  // namespace

// A made_sequence being lowered: the node, its stack buffers and tables.
struct FunctionLowering::MadeLoop {
  NodeId id;
  const Node& n;
  const MadeSequence& s;
  int D, P;
  size_t L;
  std::vector<Value*> hidden;  // <W x T> per row of each hidden layer
  MadeTables tables;
  std::vector<NodeId> inner;  // the step's nodes above its placeholders, operands first
};

// Per hidden layer: first row of each degree (D + 1 entries), prefix length
// per degree; per position: the prefix its output rows read.
FunctionLowering::MadeTables FunctionLowering::made_tables(const MadeSequence& s) {
  MadeTables t;
  for (size_t l = 0; l + 1 < s.layers.size(); ++l) {
    t.starts.push_back(index_table(s.degree_starts(l), "made.start"));
    t.prefixes.push_back(index_table(s.degree_prefixes(l), "made.prefix"));
  }
  t.out_prefixes = index_table(s.output_prefixes(), "made.out_prefix");
  return t;
}

// The rows of degree k of hidden layer l, block(r0, kRows) while kRows
// remain, then block(r0, 1).
void FunctionLowering::for_degree_rows(const MadeTables& t, size_t l, Value* k,
                                       const std::function<void(Value* r0, int R)>& block) {
  Value* lo = table_entry(t.starts[l], k);
  Value* hi = table_entry(t.starts[l], B_.CreateAdd(k, i64(1)));
  Value* tiled =
      B_.CreateAdd(lo, B_.CreateMul(B_.CreateSDiv(B_.CreateSub(hi, lo), i64(kRows)), i64(kRows)));
  for_dynamic(lo, tiled, kRows, [&](Value* r0) { block(r0, kRows); });
  for_dynamic(tiled, hi, 1, [&](Value* r0) { block(r0, 1); });
}

// What the code of a made_sequence or made_adjoint depends on besides the
// step: the layers, their tables and the activation. Two layers of one
// `repeat` have the same.
std::string FunctionLowering::made_shape(const MadeSequence& s) const {
  std::string shape = fmt::format("{} {} {} |", s.dim, s.params_per_dim, int(s.act));
  for (const MadeSequence::Layer& l : s.layers)
    shape += fmt::format(" {}x{}+{} {} [{}] [{}]", l.rows, l.cols, l.first_col, l.residual,
                         fmt::join(l.row_lengths, ","), fmt::join(l.degrees, ","));
  return shape;
}

// Element k of a stack buffer of vectors.
Value* FunctionLowering::load_slot(Value* buffer, Value* k) {
  return B_.CreateLoad(VT_, B_.CreateGEP(VT_, buffer, k));
}

// made_sequence (Ops.def): one emitted loop over the positions k, whatever
// the dimension, so IR and compile time do not grow with it. Per position
// and hidden layer, the rows of degree k are [start[k], start[k + 1]) of
// a constant table, all reading the same prefix of their input (its length
// from a second table), four rows at a time; the P output rows of position
// k are one block. u (the node's first D elements) is the first layer's
// input, hidden activations live in stack buffers.
void FunctionLowering::emit_made_sequence(NodeId id) {
  const MadeSequence& s = g_.made_sequence_info(g_.node(id).index);
  std::unordered_map<NodeId, std::string> placeholders{{s.target, "t"}};
  for (size_t p = 0; p < s.raw.size(); ++p) placeholders[s.raw[p]] = fmt::format("r{}", p);
  const std::string shape = "made_sequence " + made_shape(s) + " | " +
                            step_shape(made_sequence_step(g_, s).nodes, placeholders, s.step);
  call_shared_loop(shape, {id}, g_.node(id).args, [&] { made_loop(id); });
}

void FunctionLowering::made_loop(NodeId id) {
  const Node& n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  MadeLoop made{id,
                n,
                s,
                s.dim,
                s.params_per_dim,
                s.layers.size(),
                {},
                made_tables(s),
                made_sequence_step(g_, s).nodes};
  {
    llvm::IRBuilder<> entry(&F_->getEntryBlock(), F_->getEntryBlock().begin());
    for (size_t l = 0; l + 1 < made.L; ++l)
      made.hidden.push_back(entry.CreateAlloca(VT_, i64(s.layers[l].rows), "made.h"));
  }
  for_each(
      made.D,
      [&](Value* k) {
        for (size_t l = 0; l + 1 < made.L; ++l) made_hidden_layer(made, l, k);
        made_outputs(made, k);
      },
      0);
}

// Rows [r0, r0 + R) of layer l over the first `cols` inputs: w h + b.
// With split 2 each row keeps two partial sums (even and odd columns,
// added at the end): the P output rows of a position are too few
// independent chains to cover the FMA latency (their loop was a fifth of
// a MAF's sampling time).
Values FunctionLowering::made_rows(const MadeLoop& made, size_t l, Value* r0, int R, Value* cols,
                                   int split) {
  const NodeId w = made.n.args[MadeSequence::weights_arg(l)];
  const NodeId b = made.n.args[MadeSequence::bias_arg(l)];
  const int64_t stride = made.s.layers[l].cols;
  Values acc, row_start;
  for (int i = 0; i < R; ++i) {
    Value* r = B_.CreateAdd(r0, i64(i));
    acc.push_back(element(b, r));
    row_start.push_back(
        B_.CreateAdd(B_.CreateMul(r, i64(stride)), i64(made.s.layers[l].first_col)));
  }
  auto step = [&](Value* c, const Values& acc, size_t first) {
    Value* in = l == 0 ? element(made.id, c) : load_slot(made.hidden[l - 1], c);
    Values next(acc);
    for (int i = 0; i < R; ++i) {
      Value* m = element(w, B_.CreateAdd(row_start[size_t(i)], c));
      next[first + size_t(i)] =
          B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_}, {m, in, acc[first + size_t(i)]});
    }
    return next;
  };
  return column_sums(acc, cols, split, step);
}

// Hidden layer l at position k: its rows of degree k, activated (plus the
// layer's input where it is residual) into its buffer.
void FunctionLowering::made_hidden_layer(const MadeLoop& made, size_t l, Value* k) {
  const MadeSequence& s = made.s;
  Value* cols = table_entry(made.tables.prefixes[l], k);
  for_degree_rows(made.tables, l, k, [&](Value* r0, int R) {
    const Values pre = made_rows(made, l, r0, R, cols, R == 1 ? 2 : 1);
    for (int i = 0; i < R; ++i) {
      Value* r = B_.CreateAdd(r0, i64(i));
      Value* a = lower_elementwise(s.act, pre[size_t(i)], nullptr, nullptr);
      if (s.layers[l].residual) a = B_.CreateFAdd(a, load_slot(made.hidden[l - 1], r));
      store(made.hidden[l], r, a);
    }
  });
}

// Position k's P output rows (defined after the D elements of u), and its
// step: the step's nodes at those rows and v[k], whose result is element k.
void FunctionLowering::made_outputs(const MadeLoop& made, Value* k) {
  const MadeSequence& s = made.s;
  const int D = made.D, P = made.P;
  const NodeId id = made.id;
  const Values raw = made_rows(made, made.L - 1, B_.CreateMul(k, i64(P)), P,
                               table_entry(made.tables.out_prefixes, k), P <= 4 ? 2 : 1);
  std::unordered_map<NodeId, Value*> bound;
  for (int p = 0; p < P; ++p) {
    define(id, B_.CreateAdd(i64(D), B_.CreateAdd(B_.CreateMul(k, i64(P)), i64(p))), raw[size_t(p)]);
    bound[s.raw[size_t(p)]] = raw[size_t(p)];
  }
  bound[s.target] = element(made.n.args[0], k);
  for (NodeId j : made.inner) {
    const Node& jn = g_.node(j);
    Value* ops[3] = {nullptr, nullptr, nullptr};
    for (size_t i = 0; i < jn.args.size() && i < 3; ++i) {
      auto it = bound.find(jn.args[i]);
      ops[i] = it != bound.end() ? it->second : element(jn.args[i], i64(0));
    }
    bound[j] = jn.op == Op::broadcast ? ops[0] : lower_elementwise(jn.op, ops[0], ops[1], ops[2]);
  }
  define(id, k, bound.at(s.step));
}

}  // namespace nfc::llvm_lowering
