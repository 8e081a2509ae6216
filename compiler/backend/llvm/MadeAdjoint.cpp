// made_adjoint nodes: a made_sequence's reverse sweep, one emitted loop
// from the last position to the first, in a function shared by every
// made_adjoint of the same shape (SharedLoops.cpp).
#include <llvm/IR/Module.h>

#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

// A made_adjoint being lowered: the node, its stack buffers and tables.
struct FunctionLowering::MadeSweep {
  NodeId id;
  const Node& n;
  const MadeSequence& s;
  int D, P;
  size_t L;
  Value* u_adj;               // <W x T> per position: what later positions sent to u_k
  std::vector<Value*> h_adj;  // <W x T> per row of each hidden layer: its adjoint
  MadeTables tables;
};

// made_adjoint (Ops.def): one loop over k = D-1 .. 0. Per position, t_k
// and rho_k are defined, rho_k goes back through the output rows of
// position k, then each hidden layer, top down, sends its rows of degree k
// back to its input: adjoints live in stack buffers zeroed per call.
void FunctionLowering::emit_made_adjoint(NodeId id) {
  const MadeSequence& s = g_.made_sequence_info(g_.node(id).index);
  call_shared_loop("made_adjoint " + made_shape(s), {id}, g_.node(id).args,
                   [&] { made_sweep(id); });
}

void FunctionLowering::made_sweep(NodeId id) {
  const Node& n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  MadeSweep sweep{id, n, s, s.dim, s.params_per_dim, s.layers.size(), nullptr, {}, made_tables(s)};
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
  for (size_t l = 0; l + 1 < sweep.L; ++l) zero(sweep.h_adj[l], s.layers[l].rows);
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
  const NodeId au = sweep.n.args[0], araw = sweep.n.args[1], sraw = sweep.n.args[2];
  Value* t = B_.CreateFAdd(element(au, k), load_slot(sweep.u_adj, k));
  define(sweep.id, k, t);
  Values rho;
  Value* r0 = B_.CreateMul(k, i64(sweep.P));
  for (int p = 0; p < sweep.P; ++p) {
    Value* r = B_.CreateAdd(r0, i64(p));
    rho.push_back(B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                     {element(sraw, r), t, element(araw, r)}));
    define(sweep.id, B_.CreateAdd(i64(sweep.D), r), rho.back());
  }
  sweep_rows_back(sweep, sweep.L - 1, r0, rho, table_entry(sweep.tables.out_prefixes, k));
}

// Hidden layer l at position k: its rows of degree k pass their adjoint to
// the previous layer where residual, and delta = adjoint * act' back
// through their weights.
void FunctionLowering::sweep_hidden_layer(const MadeSweep& sweep, size_t l, Value* k) {
  const NodeId slope = sweep.n.args[MadeSequence::slope_arg(l)];
  Value* cols = table_entry(sweep.tables.prefixes[l], k);
  for_degree_rows(sweep.tables, l, k, [&](Value* r0, int R) {
    Values delta;
    for (int i = 0; i < R; ++i) {
      Value* r = B_.CreateAdd(r0, i64(i));
      Value* adj = load_slot(sweep.h_adj[l], r);
      if (sweep.s.layers[l].residual)
        store(sweep.h_adj[l - 1], r, B_.CreateFAdd(load_slot(sweep.h_adj[l - 1], r), adj));
      delta.push_back(B_.CreateFMul(adj, element(slope, r)));
    }
    sweep_rows_back(sweep, l, r0, delta, cols);
  });
}

// Rows r0 .. r0 + R - 1 of layer l, with adjoints `delta`, add
// w[r, c] delta_r to the adjoint of their input c for c < cols: the first
// layer's input is u, the others' the previous hidden layer.
void FunctionLowering::sweep_rows_back(const MadeSweep& sweep, size_t l, Value* r0,
                                       const Values& delta, Value* cols) {
  const MadeSequence::Layer& layer = sweep.s.layers[l];
  const NodeId w = sweep.n.args[sweep.s.adjoint_weights_arg(l)];
  Value* target = l == 0 ? sweep.u_adj : sweep.h_adj[l - 1];
  Values row_start;
  for (size_t i = 0; i < delta.size(); ++i)
    row_start.push_back(B_.CreateAdd(
        B_.CreateMul(B_.CreateAdd(r0, i64(int64_t(i))), i64(layer.cols)), i64(layer.first_col)));
  for_dynamic(i64(0), cols, 1, [&](Value* c) {
    Value* acc = load_slot(target, c);
    for (size_t i = 0; i < delta.size(); ++i)
      acc = B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                               {element(w, B_.CreateAdd(row_start[i], c)), delta[i], acc});
    store(target, c, acc);
  });
}

}  // namespace nfc::llvm_lowering
