// Fused loops (BufferPlan::loop_end): a run of elementwise ops and gathers
// of one length evaluated in a single loop over the element index k, every
// node at k before any at k + 1. A node's element k is handed to its users
// in the loop as an SSA value (fused_), and stored only if the plan gave the
// node a buffer (it is read outside the loop or by a gather, or it is an
// output or an accumulation's operand). A loop may be headed by a matvec
// or matvec_t (BufferPlan's heads_loop): the kernel runs the loop's nodes
// on each element as it produces it (produce).
#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "support/Iota.hpp"

namespace nfc::llvm_lowering {

void FunctionLowering::emit_fused_loop(size_t begin, size_t end) {
  if (heads_loop(plan_.order[begin])) {
    epilogue_ = {begin + 1, end};
    emit_node(plan_.order[begin]);
    epilogue_ = {};
    return;
  }
  const int64_t len = g_.len(plan_.order[begin]);
  const int64_t unroll_max = int64_t(end - begin) * len <= kFusedUnrollMax ? len : 1;
  // A gather's index table, built once for the loop (not per unrolled k).
  std::vector<Value*> tables(end - begin, nullptr);
  for (size_t i = begin; i < end; ++i) {
    const Node& n = g_.node(plan_.order[i]);
    if (n.op == Op::gather && !is_run(n.indices))
      tables[i - begin] = index_table(n.indices, "gather");
  }
  for_each(len, [&](Value* k) { fused_iteration(begin, end, k, tables); }, unroll_max);
}

// Element k of the loop's nodes at positions [begin, end), in order, each
// handed on to the next in fused_, stored where the plan gave a buffer.
void FunctionLowering::fused_iteration(size_t begin, size_t end, Value* k,
                                       const std::vector<Value*>& tables) {
  for (size_t i = begin; i < end; ++i) {
    const NodeId id = plan_.order[i];
    if (codeless(g_.node(id).op)) continue;
    Value* v = fused_element(id, k, tables.empty() ? nullptr : tables[i - begin]);
    if (plan_.offset[static_cast<size_t>(id)] >= 0) define(id, k, v);
    fused_[static_cast<size_t>(id)] = v;
  }
  for (size_t i = begin; i < end; ++i) fused_[static_cast<size_t>(plan_.order[i])] = nullptr;
}

// A matvec heads the fused loop after it (BufferPlan's heads_loop: its
// bias and activation, run on each row as it is produced), and a matvec_t
// the loop after it (in a gradient, the activation's derivative applied to
// each column); but not in the one-sample entry, whose row dots produce
// rows L at a time.
bool FunctionLowering::heads_loop(NodeId id) const {
  const Op op = g_.node(id).op;
  return W_ > 1 && (op == Op::matvec || op == Op::matvec_t);
}

// Element k of a node being evaluated: defined, and if the node heads a
// fused loop (epilogue_), the rest of the loop run at k on it while it is
// still in a register: the loop's reload of each element and its own loop
// overhead disappear (a coupling's bias and ReLU after each hidden layer's
// matvec, ~7% of W1's log_prob as a loop of their own).
void FunctionLowering::produce(NodeId id, Value* k, Value* v) {
  if (epilogue_.end == 0) return define(id, k, v);
  if (plan_.offset[static_cast<size_t>(id)] >= 0) define(id, k, v);
  fused_[static_cast<size_t>(id)] = v;
  fused_iteration(epilogue_.begin, epilogue_.end, k, {});
  fused_[static_cast<size_t>(id)] = nullptr;
}

// Element k of one node of a fused loop. A gather reads its source (in
// memory, never in this loop) at indices[k]: a constant when the loop is
// unrolled, k plus the first index for a contiguous run, else from `table`.
Value* FunctionLowering::fused_element(NodeId id, Value* k, Value* table) {
  const Node& n = g_.node(id);
  if (n.op != Op::gather) {
    Value* a = element(n.args[0], k);
    Value* b = n.args.size() > 1 ? element(n.args[1], k) : nullptr;
    Value* c = n.args.size() > 2 ? element(n.args[2], k) : nullptr;
    return lower_elementwise(n.op, a, b, c);
  }
  Value* index = nullptr;
  if (auto* ck = llvm::dyn_cast<llvm::ConstantInt>(k))
    index = i64(n.indices[ck->getZExtValue()]);
  else
    index = table ? table_entry(table, k) : B_.CreateNSWAdd(k, i64(n.indices[0]));
  return element(n.args[0], index);
}

}  // namespace nfc::llvm_lowering
