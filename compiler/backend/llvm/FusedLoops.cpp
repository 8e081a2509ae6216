// Fused loops (BufferPlan::loop_end): a run of elementwise ops and gathers
// of one length evaluated in a single loop over the element index k, every
// node at k before any at k + 1. A node's element k is handed to its users
// in the loop as an SSA value (fused_), and stored only if the plan gave the
// node a buffer (it is read outside the loop, or by index).
#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

void FunctionLowering::emit_fused_loop(size_t begin, size_t end) {
  const int64_t len = g_.len(plan_.order[begin]);
  const int64_t unroll_max = int64_t(end - begin) * len <= kFusedUnrollMax ? len : 1;
  for_each(
      len,
      [&](Value* k) {
        for (size_t i = begin; i < end; ++i) {
          const NodeId id = plan_.order[i];
          Value* v = fused_element(id, k);
          if (plan_.offset[static_cast<size_t>(id)] >= 0) define(id, k, v);
          fused_[static_cast<size_t>(id)] = v;
        }
        for (size_t i = begin; i < end; ++i) fused_[static_cast<size_t>(plan_.order[i])] = nullptr;
      },
      unroll_max);
}

// Element k of one node of a fused loop: a gather reads its source (in
// memory, never in this loop) at indices[k], a contiguous run of indices by
// arithmetic, others through a constant table.
Value* FunctionLowering::fused_element(NodeId id, Value* k) {
  const Node& n = g_.node(id);
  if (n.op != Op::gather) {
    Value* a = element(n.args[0], k);
    Value* b = n.args.size() > 1 ? element(n.args[1], k) : nullptr;
    Value* c = n.args.size() > 2 ? element(n.args[2], k) : nullptr;
    return lower_elementwise(n.op, a, b, c);
  }
  bool contiguous = true;
  for (size_t j = 1; j < n.indices.size(); ++j)
    contiguous = contiguous && n.indices[j] == n.indices[0] + static_cast<int>(j);
  Value* index = contiguous ? B_.CreateNSWAdd(k, i64(n.indices[0]))
                            : table_entry(index_table(n.indices, "gather"), k);
  return element(n.args[0], index);
}

}  // namespace nfc::llvm_lowering
