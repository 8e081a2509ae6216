// Where a node's value lives and how element k of it is read or written:
// SSA registers (short nodes), slots of the scratch alloca (long ones), or
// nowhere (constants and parameters, read where they are used; broadcasts,
// views of their operand). Also the constant index tables of the module,
// and the input and output tiles of a block.
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/Module.h>

#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "support/InternalError.hpp"

namespace nfc::llvm_lowering {

// Broadcasts are views (element k of one is element 0 of its operand);
// constants and parameters are read where they are. Elementwise values and
// gathers are planned in memory from kRegisterMax elements on (then fused
// into loops), the rest from kUnrollMax.
bool FunctionLowering::needs_buffer(NodeId id) const {
  const Op op = g_.node(id).op;
  if (op == Op::made_sequence || op == Op::made_adjoint) return true;  // indexed in a loop
  if (codeless(op)) return false;
  const int max = is_elementwise(op) || op == Op::gather ? kRegisterMax : kUnrollMax;
  return g_.len(id) > max;
}

// Whether element(id, k) accepts a k computed at run time.
bool FunctionLowering::addressable(NodeId id) const {
  const Op op = g_.node(id).op;
  return codeless(op) || plan_.offset[static_cast<size_t>(id)] >= 0 || redirect_.count(id) > 0;
}

Value* FunctionLowering::element(NodeId id, Value* k) {
  if (Value* v = fused_[static_cast<size_t>(id)]) return v;
  const Node& n = g_.node(id);
  if (n.len == 1) k = i64(0);
  if (auto r = redirect_.find(id); r != redirect_.end()) return load(r->second, k);
  if (n.op == Op::constant) return splat_const(n.value);
  if (n.op == Op::broadcast) return element(n.args[0], i64(0));
  if (n.op == Op::param) {
    const int64_t offset = g_.params().at(static_cast<size_t>(n.index)).offset;
    Value* at = B_.CreateGEP(T_, params_, B_.CreateNSWAdd(i64(offset), k));
    return splat(B_.CreateLoad(T_, at));
  }
  const int64_t slot = plan_.offset[static_cast<size_t>(id)];
  if (slot >= 0)
    return B_.CreateLoad(VT_, B_.CreateInBoundsGEP(VT_, scratch_, B_.CreateNSWAdd(i64(slot), k)));
  auto* ck = llvm::dyn_cast<llvm::ConstantInt>(k);
  internal_check(ck != nullptr, "llvm backend: run-time index into a register-held node");
  const Values& elems = regs_[static_cast<size_t>(id)];
  internal_check(ck->getZExtValue() < elems.size(),
                 "llvm backend: a node read where it has no value (no slot, no registers)");
  return elems[ck->getZExtValue()];
}

void FunctionLowering::define(NodeId id, Value* k, Value* v) {
  if (auto r = redirect_.find(id); r != redirect_.end()) return store(r->second.ptr, k, v);
  const int64_t slot = plan_.offset[static_cast<size_t>(id)];
  if (slot >= 0) {
    B_.CreateStore(v, B_.CreateInBoundsGEP(VT_, scratch_, B_.CreateNSWAdd(i64(slot), k)));
    return;
  }
  auto* ck = llvm::dyn_cast<llvm::ConstantInt>(k);
  internal_check(ck != nullptr, "llvm backend: run-time index into a register-held node");
  Values& elems = regs_[static_cast<size_t>(id)];
  elems.resize(static_cast<size_t>(g_.len(id)));
  elems[ck->getZExtValue()] = v;
}

// Entry k of an index_table, as i64.
Value* FunctionLowering::table_entry(Value* table, Value* k) {
  Value* at = B_.CreateGEP(B_.getInt32Ty(), table, k);
  return B_.CreateZExt(B_.CreateLoad(B_.getInt32Ty(), at), B_.getInt64Ty());
}

// A constant table of indices in the module.
Value* FunctionLowering::index_table(const std::vector<int>& indices, const char* name) {
  std::vector<uint32_t> values(indices.begin(), indices.end());
  auto* init = llvm::ConstantDataArray::get(ctx_, values);
  return new llvm::GlobalVariable(m_, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                  init, name);
}

// Element k of the tile is in[(base + lane) * len + k] for each lane.
void FunctionLowering::emit_input(NodeId id) {
  internal_check(id == entry_.input, "llvm backend: input node is not the entry's input");
  const int len = g_.len(id);
  Value* rows = B_.CreateMul(lanes_, splat(i64(len)));
  Value* zero = splat_const(0);
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  for_each(len, [&](Value* k) {
    Value* at = B_.CreateGEP(T_, in_, B_.CreateAdd(rows, splat(k)));
    define(id, k, B_.CreateMaskedGather(VT_, at, align, mask_, zero));
  });
}

void FunctionLowering::emit_outputs() {
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  for (size_t o = 0; o < entry_.outputs.size(); ++o) {
    const NodeId id = entry_.outputs[o];
    Value* rows = B_.CreateMul(lanes_, splat(i64(g_.len(id))));
    for_each(g_.len(id), [&](Value* k) {
      Value* at = B_.CreateGEP(T_, outs_[o], B_.CreateAdd(rows, splat(k)));
      B_.CreateMaskedScatter(element(id, k), at, align, mask_);
    });
  }
}

}  // namespace nfc::llvm_lowering
