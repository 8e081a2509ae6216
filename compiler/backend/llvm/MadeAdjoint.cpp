// made_adjoint nodes: a made_sequence's reverse sweep, one emitted loop
// from the last position to the first, in a function shared by every
// made_adjoint of the same shape (SharedLoops.cpp).
#include <llvm/IR/Module.h>

#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

namespace {

// Hidden rows sent back together, per position: their input's adjoint is
// loaded and stored once for all of them.
constexpr int kRows = 4;

}  // namespace

// A made_adjoint being lowered: its operands as pointers, its output, its
// stack buffers and tables.
struct FunctionLowering::MadeSweep {
  const MadeSequence& s;
  int D, P;
  size_t L;
  Value* out;                            // <W x T> per element: t, then rho
  const std::vector<Operand>& operands;  // au, araw, sraw, slopes, weights
  Value* u_adj = nullptr;                // <W x T> per position: what later positions sent to u_k
  std::vector<Value*> h_adj{};           // <W x T> per row of each hidden layer: its adjoint
  std::vector<Value*> starts{}, prefixes{};  // per hidden layer, as in made_sequence
  Value* out_prefixes = nullptr;

  const Operand& slope(size_t l) const { return operands[3 + l]; }
  const Operand& weights(size_t l) const { return operands[3 + (L - 1) + l]; }
};

// made_adjoint (Ops.def): one loop over k = D-1 .. 0. Per position, t_k
// and rho_k are defined, rho_k goes back through the output rows of
// position k, then each hidden layer, top down, sends its rows of degree k
// back to its input: adjoints live in stack buffers zeroed per call.
void FunctionLowering::emit_made_adjoint(NodeId id) {
  const Node& n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  call_shared_loop("made_adjoint " + made_shape(s), id, n.args,
                   [&](Value* out, const std::vector<Operand>& operands) {
                     MadeSweep sweep{s, s.dim, s.params_per_dim, s.layers.size(), out, operands};
                     made_sweep(sweep);
                   });
}

void FunctionLowering::made_sweep(MadeSweep& sweep) {
  const MadeSequence& s = sweep.s;
  {
    llvm::IRBuilder<> entry(&F_->getEntryBlock(), F_->getEntryBlock().begin());
    sweep.u_adj = entry.CreateAlloca(VT_, i64(sweep.D), "sweep.u");
    for (size_t l = 0; l + 1 < sweep.L; ++l)
      sweep.h_adj.push_back(entry.CreateAlloca(VT_, i64(s.layers[l].rows), "sweep.h"));
  }
  auto zero = [&](Value* buffer, int64_t count) {
    for_each(count, [&](Value* k) { store(buffer, k, splat_const(0)); });
  };
  zero(sweep.u_adj, sweep.D);
  for (size_t l = 0; l + 1 < sweep.L; ++l) {
    zero(sweep.h_adj[l], s.layers[l].rows);
    sweep.starts.push_back(index_table(s.degree_starts(l), "sweep.start"));
    sweep.prefixes.push_back(index_table(s.degree_prefixes(l), "sweep.prefix"));
  }
  sweep.out_prefixes = index_table(s.output_prefixes(), "sweep.out_prefix");
  for_each(
      sweep.D,
      [&](Value* j) {
        Value* k = B_.CreateSub(i64(sweep.D - 1), j);
        sweep_outputs(sweep, k);
        for (size_t l = sweep.L - 1; l-- > 0;) sweep_hidden_layer(sweep, l, k);
      },
      0);
}

// t_k and rho_k (elements k and D + k P + p), and rho_k sent back through
// the output rows of position k.
void FunctionLowering::sweep_outputs(const MadeSweep& sweep, Value* k) {
  const int D = sweep.D, P = sweep.P;
  Value* t = B_.CreateFAdd(load(sweep.operands[0], k), load_slot(sweep.u_adj, k));
  store(sweep.out, k, t);
  Values rho;
  Value* r0 = B_.CreateMul(k, i64(P));
  for (int p = 0; p < P; ++p) {
    Value* r = B_.CreateAdd(r0, i64(p));
    rho.push_back(B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                     {load(sweep.operands[2], r), t, load(sweep.operands[1], r)}));
    store(sweep.out, B_.CreateAdd(i64(D), r), rho.back());
  }
  sweep_rows_back(sweep, sweep.L - 1, r0, rho, table_entry(sweep.out_prefixes, k));
}

// Hidden layer l at position k: its rows of degree k, kRows at a time,
// pass their adjoint to the previous layer where residual, and delta =
// adjoint * act' back through their weights.
void FunctionLowering::sweep_hidden_layer(const MadeSweep& sweep, size_t l, Value* k) {
  Value* lo = table_entry(sweep.starts[l], k);
  Value* hi = table_entry(sweep.starts[l], B_.CreateAdd(k, i64(1)));
  Value* cols = table_entry(sweep.prefixes[l], k);
  auto block = [&](Value* r0, int R) {
    Values delta;
    for (int i = 0; i < R; ++i) {
      Value* r = B_.CreateAdd(r0, i64(i));
      Value* adj = load_slot(sweep.h_adj[l], r);
      if (sweep.s.layers[l].residual)
        store(sweep.h_adj[l - 1], r, B_.CreateFAdd(load_slot(sweep.h_adj[l - 1], r), adj));
      delta.push_back(B_.CreateFMul(adj, load(sweep.slope(l), r)));
    }
    sweep_rows_back(sweep, l, r0, delta, cols);
  };
  Value* tiled =
      B_.CreateAdd(lo, B_.CreateMul(B_.CreateSDiv(B_.CreateSub(hi, lo), i64(kRows)), i64(kRows)));
  for_dynamic(lo, tiled, kRows, [&](Value* r0) { block(r0, kRows); });
  for_dynamic(tiled, hi, 1, [&](Value* r0) { block(r0, 1); });
}

// Rows r0 .. r0 + R - 1 of layer l, with adjoints `delta`, add
// w[r, c] delta_r to the adjoint of their input c for c < cols: the first
// layer's input is u, the others' the previous hidden layer.
void FunctionLowering::sweep_rows_back(const MadeSweep& sweep, size_t l, Value* r0,
                                       const Values& delta, Value* cols) {
  const MadeSequence::Layer& layer = sweep.s.layers[l];
  Value* target = l == 0 ? sweep.u_adj : sweep.h_adj[l - 1];
  Values row_start;
  for (size_t i = 0; i < delta.size(); ++i)
    row_start.push_back(B_.CreateAdd(
        B_.CreateMul(B_.CreateAdd(r0, i64(int64_t(i))), i64(layer.cols)), i64(layer.first_col)));
  for_dynamic(i64(0), cols, 1, [&](Value* c) {
    Value* acc = load_slot(target, c);
    for (size_t i = 0; i < delta.size(); ++i)
      acc = B_.CreateIntrinsic(
          llvm::Intrinsic::fmuladd, {VT_},
          {load(sweep.weights(l), B_.CreateAdd(row_start[i], c)), delta[i], acc});
    store(target, c, acc);
  });
}

}  // namespace nfc::llvm_lowering
