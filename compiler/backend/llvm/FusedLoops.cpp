// Fused loops (BufferPlan::loop_end): a run of elementwise ops and gathers
// of one length evaluated in a single loop over the element index k, every
// node at k before any at k + 1. A node's element k is handed to its users
// in the loop as an SSA value (fused_), and stored only if the plan gave the
// node a buffer (it is read outside the loop or by a gather, or it is an
// output or an accumulation's operand).
#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "support/Iota.hpp"

namespace nfc::llvm_lowering {

void FunctionLowering::emit_fused_loop(size_t begin, size_t end) {
  const int64_t len = g_.len(plan_.order[begin]);
  const int64_t unroll_max = int64_t(end - begin) * len <= kFusedUnrollMax ? len : 1;
  // A gather's index table, built once for the loop (not per unrolled k).
  std::vector<Value*> tables(end - begin, nullptr);
  for (size_t i = begin; i < end; ++i) {
    const Node& n = g_.node(plan_.order[i]);
    if (n.op == Op::gather && !is_run(n.indices))
      tables[i - begin] = index_table(n.indices, "gather");
  }
  for_each(
      len,
      [&](Value* k) {
        for (size_t i = begin; i < end; ++i) {
          const NodeId id = plan_.order[i];
          const Op op = g_.node(id).op;
          if (op == Op::constant || op == Op::param || op == Op::broadcast) continue;  // no code
          Value* v = fused_element(id, k, tables[i - begin]);
          if (plan_.offset[static_cast<size_t>(id)] >= 0) define(id, k, v);
          fused_[static_cast<size_t>(id)] = v;
        }
        for (size_t i = begin; i < end; ++i) fused_[static_cast<size_t>(plan_.order[i])] = nullptr;
      },
      unroll_max);
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
