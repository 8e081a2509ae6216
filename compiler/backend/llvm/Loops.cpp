// Emitted loops over element indices: unrolled when short (the index is then
// a constant, so register-held nodes can be read), otherwise counted loops
// with bounds known at compile or run time and values carried from one
// iteration to the next in phis.
#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Instructions.h>

#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

// Loops `count` times; `carried` values flow from one iteration to the next
// and the last iteration's values are returned. Unrolled for short counts,
// so `k` is then a constant.
Values FunctionLowering::for_range(
    int64_t count, Values carried, int64_t unroll_max,
    const std::function<Values(Value* k, const Values& carried)>& body) {
  if (count <= unroll_max) {
    for (int64_t k = 0; k < count; ++k) carried = body(i64(k), carried);
    return carried;
  }
  return for_dynamic_range(i64(0), i64(count), std::move(carried), body);
}

void FunctionLowering::for_each(int64_t count, const std::function<void(Value* k)>& body,
                                int64_t unroll_max) {
  for_range(count, {}, unroll_max, [&](Value* k, const Values& carried) {
    body(k);
    return carried;
  });
}

// for (k = begin; k < end; k += step) body(k), with bounds known at run time.
void FunctionLowering::for_dynamic(Value* begin, Value* end, int64_t step,
                                   const std::function<void(Value* k)>& body) {
  llvm::BasicBlock* pre = B_.GetInsertBlock();
  auto* loop = llvm::BasicBlock::Create(ctx_, "dloop", F_);
  auto* done = llvm::BasicBlock::Create(ctx_, "dloop.end", F_);
  B_.CreateCondBr(B_.CreateICmpSLT(begin, end), loop, done);
  B_.SetInsertPoint(loop);
  llvm::PHINode* k = B_.CreatePHI(B_.getInt64Ty(), 2, "k");
  k->addIncoming(begin, pre);
  body(k);
  Value* next = B_.CreateNSWAdd(k, i64(step));
  k->addIncoming(next, B_.GetInsertBlock());
  B_.CreateCondBr(B_.CreateICmpSLT(next, end), loop, done);
  B_.SetInsertPoint(done);
}

// for (k = begin; k < end; ++k) with carried values, bounds known at run
// time; returns the carried values after the last iteration (the initial
// ones if there is none).
Values FunctionLowering::for_dynamic_range(
    Value* begin, Value* end, Values carried,
    const std::function<Values(Value* k, const Values& carried)>& body) {
  llvm::BasicBlock* pre = B_.GetInsertBlock();
  auto* loop = llvm::BasicBlock::Create(ctx_, "rloop", F_);
  auto* done = llvm::BasicBlock::Create(ctx_, "rloop.end", F_);
  B_.CreateCondBr(B_.CreateICmpSLT(begin, end), loop, done);
  B_.SetInsertPoint(loop);
  llvm::PHINode* k = B_.CreatePHI(B_.getInt64Ty(), 2, "k");
  k->addIncoming(begin, pre);
  Values phis;
  for (Value* c : carried) {
    phis.push_back(B_.CreatePHI(c->getType(), 2));
    llvm::cast<llvm::PHINode>(phis.back())->addIncoming(c, pre);
  }
  Values next = body(k, phis);
  Value* k_next = B_.CreateNSWAdd(k, i64(1));
  llvm::BasicBlock* latch = B_.GetInsertBlock();
  B_.CreateCondBr(B_.CreateICmpSLT(k_next, end), loop, done);
  k->addIncoming(k_next, latch);
  for (size_t i = 0; i < phis.size(); ++i)
    llvm::cast<llvm::PHINode>(phis[i])->addIncoming(next[i], latch);
  B_.SetInsertPoint(done);
  Values out;
  for (size_t i = 0; i < carried.size(); ++i) {
    llvm::PHINode* phi = B_.CreatePHI(carried[i]->getType(), 2);
    phi->addIncoming(carried[i], pre);
    phi->addIncoming(next[i], latch);
    out.push_back(phi);
  }
  return out;
}

Values FunctionLowering::column_sums(Values init, Value* cols, int split, const ColumnStep& step) {
  const size_t rows = init.size();
  auto* constant = llvm::dyn_cast<llvm::ConstantInt>(cols);
  // for (k = 0; k < end; ++k), unrolled when `end` is a short constant.
  auto upto = [&](Value* end, Values sums, const std::function<Values(Value*, const Values&)>& f) {
    if (auto* e = llvm::dyn_cast<llvm::ConstantInt>(end))
      return for_range(e->getSExtValue(), std::move(sums), kUnrollMax, f);
    return for_dynamic_range(i64(0), end, std::move(sums), f);
  };
  auto one = [&](Value* c, const Values& sums) { return step(c, sums, 0); };
  if (split == 1) return upto(cols, std::move(init), one);
  Values sums = std::move(init);
  sums.resize(2 * rows, splat_const(0));  // the odd columns' sums
  Value* pairs = constant ? i64(constant->getSExtValue() / 2) : B_.CreateSDiv(cols, i64(2));
  sums = upto(pairs, std::move(sums), [&](Value* q, const Values& s) {
    Value* c = B_.CreateMul(q, i64(2));
    return step(B_.CreateAdd(c, i64(1)), step(c, s, 0), rows);
  });
  // An odd column count leaves its last column.
  if (!constant)
    sums = for_dynamic_range(B_.CreateMul(pairs, i64(2)), cols, std::move(sums), one);
  else if (constant->getSExtValue() % 2 == 1)
    sums = step(i64(constant->getSExtValue() - 1), sums, 0);
  for (size_t i = 0; i < rows; ++i) sums[i] = B_.CreateFAdd(sums[i], sums[rows + i]);
  sums.resize(rows);
  return sums;
}

}  // namespace nfc::llvm_lowering
