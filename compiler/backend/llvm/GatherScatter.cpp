// Nodes that move elements by index (gather, scatter, concat) or add them
// up (sum): unrolled when short, else loops over constant index tables.
#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "support/Iota.hpp"

namespace nfc::llvm_lowering {

// Long gathers from memory loop over a constant table of indices.
void FunctionLowering::emit_gather(NodeId id) {
  const Node& n = g_.node(id);
  const NodeId src = n.args[0];
  if (n.len <= kUnrollMax || !addressable(src)) {
    for (size_t k = 0; k < n.indices.size(); ++k)
      define(id, i64(static_cast<int64_t>(k)), element(src, i64(n.indices[k])));
    return;
  }
  Value* table = index_table(n.indices, "gather");
  for_each(n.len, [&](Value* k) {
    Value* at = B_.CreateGEP(B_.getInt32Ty(), table, k);
    Value* index = B_.CreateZExt(B_.CreateLoad(B_.getInt32Ty(), at), B_.getInt64Ty());
    define(id, k, element(src, index));
  });
}

// out = 0; out[indices[k]] += a[k] in order of k, like the interpreter.
// Short results are sums formed at compile time; long ones are zero-filled
// (except where the indices are one contiguous run, which is a plain copy)
// and then added into, unrolled for short operands, else by a loop.
void FunctionLowering::emit_scatter(NodeId id) {
  const Node& n = g_.node(id);
  const NodeId src = n.args[0];
  const auto count = static_cast<int64_t>(n.indices.size());
  if (n.len <= kUnrollMax) {
    Values out(static_cast<size_t>(n.len), splat_const(0));
    for (int64_t k = 0; k < count; ++k) {
      Value*& o = out[static_cast<size_t>(n.indices[static_cast<size_t>(k)])];
      o = B_.CreateFAdd(o, element(src, i64(k)));
    }
    for (int j = 0; j < n.len; ++j) define(id, i64(j), out[static_cast<size_t>(j)]);
    return;
  }
  if (is_run(n.indices)) {  // distinct indices: out[start + k] = a[k], zeros around
    const int64_t start = n.indices[0];
    for_each(start, [&](Value* k) { define(id, k, splat_const(0)); });
    for_each(count, [&](Value* k) { define(id, B_.CreateAdd(i64(start), k), element(src, k)); });
    for_each(n.len - start - count,
             [&](Value* k) { define(id, B_.CreateAdd(i64(start + count), k), splat_const(0)); });
    return;
  }
  for_each(n.len, [&](Value* k) { define(id, k, splat_const(0)); });
  auto add = [&](Value* k, Value* index) {
    define(id, index, B_.CreateFAdd(element(id, index), element(src, k)));
  };
  if (count <= kUnrollMax || !addressable(src)) {
    for (int64_t k = 0; k < count; ++k) add(i64(k), i64(n.indices[static_cast<size_t>(k)]));
    return;
  }
  Value* table = index_table(n.indices, "scatter");
  for_each(count, [&](Value* k) {
    Value* at = B_.CreateGEP(B_.getInt32Ty(), table, k);
    add(k, B_.CreateZExt(B_.CreateLoad(B_.getInt32Ty(), at), B_.getInt64Ty()));
  });
}

void FunctionLowering::emit_concat(NodeId id) {
  int64_t start = 0;
  for (NodeId part : g_.node(id).args) {
    for_each(g_.len(part),
             [&](Value* k) { define(id, B_.CreateAdd(i64(start), k), element(part, k)); });
    start += g_.len(part);
  }
}

// Left to right from 0, like the interpreter.
void FunctionLowering::emit_sum(NodeId id) {
  const NodeId src = g_.node(id).args[0];
  Values total = for_range(
      g_.len(src), {splat_const(0)}, kUnrollMax,
      [&](Value* k, const Values& acc) { return Values{B_.CreateFAdd(acc[0], element(src, k))}; });
  define(id, i64(0), total[0]);
}

}  // namespace nfc::llvm_lowering
