// Lowering a Program to LLVM IR, SIMD across samples.
//
// Every entry point becomes one function that walks the batch in blocks of
// W samples. Within a block each scalar of the per-sample program is a
// <W x T> vector (lane j is sample base + j), so the per-sample program runs
// unchanged, W samples at a time, without shuffles:
//
//   for (base = 0; base < n; base += W) {
//     gather the input tile: row-major rows -> one vector per input element
//       (lanes past n read nothing and hold 0)
//     evaluate the nodes in topological order
//     scatter the outputs back to row-major rows (lanes past n are not stored)
//   }
//
// A node's value lives in SSA registers if it has at most kUnrollMax
// elements (loops over it are unrolled by the emitter), otherwise in slots of
// one scratch alloca, planned by liveness (BufferPlan) and read and written
// by emitted loops; so IR size follows the number of nodes, not layer widths
// or weights. Constants and parameters have no storage: element k of a
// parameter is a broadcast load of params[offset + k]. exp, log, tanh, ...
// call whole-vector variants (glibc's libmvec) when the JIT offers them.
#include "compiler/backend/llvm/LlvmBackend.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "compiler/analysis/BufferPlan.hpp"
#include "compiler/analysis/LoopBodies.hpp"
#include "compiler/ir/OpFormula.hpp"
#include "support/InternalError.hpp"

namespace nfc {
namespace {

using llvm::Value;
using Values = std::vector<Value*>;  // loop-carried values, or a node's elements

// Rows of a matvec computed together: each vector element loaded feeds this
// many independent FMA chains (register blocking), enough to hide FMA latency.
// Also the columns of a matvec_t computed together.
constexpr int kRowBlock = 8;
// Register block of the outer-product kernel: rows x vectors of columns of
// the gradient held in registers while the lanes of a block stream by.
constexpr int kOuterRows = 4;
constexpr int kOuterCols = 3;
// The gradient stages the operands of its outer products for up to this
// many blocks of samples before adding them into the gradient: the gradient
// of a large model (7 MB for the 64-D MAF) does not stay in cache, and
// streaming it once per block of W samples bounded the whole entry point.
// The staging areas live in the caller's workspace, at most kStageBytes.
constexpr int64_t kMaxStageBlocks = 8;
constexpr int64_t kStageBytes = int64_t{4} << 20;

class FunctionLowering {
 public:
  FunctionLowering(const Graph& g, const EntryPoint& entry, Precision precision, int width,
                   int row_lanes, const VectorMath& vector_math, llvm::Module& m);
  void emit();
  int64_t workspace_bytes() const {
    return workspace_elements_ * (T_->getPrimitiveSizeInBits() / 8);
  }

 private:
  // IR helpers.
  Value* i64(int64_t v) { return B_.getInt64(static_cast<uint64_t>(v)); }
  Value* splat(Value* scalar) { return B_.CreateVectorSplat(static_cast<unsigned>(W_), scalar); }
  Value* splat_const(double v) { return llvm::ConstantFP::get(VT_, v); }
  Values for_range(int64_t count, Values carried, int64_t unroll_max,
                   const std::function<Values(Value* k, const Values& carried)>& body);
  void for_each(int64_t count, const std::function<void(Value* k)>& body,
                int64_t unroll_max = kUnrollMax);
  void for_dynamic(Value* begin, Value* end, int64_t step,
                   const std::function<void(Value* k)>& body);
  Values for_dynamic_range(Value* begin, Value* end, Values carried,
                           const std::function<Values(Value* k, const Values& carried)>& body);

  // Node values: element k of a node (k broadcasts for length-1 nodes), and
  // the definition of element k of a node being evaluated.
  bool needs_buffer(NodeId id) const;
  bool addressable(NodeId id) const;
  Value* element(NodeId id, Value* k);
  void define(NodeId id, Value* k, Value* v);

  void create_function();
  void emit_node(NodeId id);
  void emit_input(NodeId id);
  void emit_outputs();
  void emit_elementwise(NodeId id);
  void emit_matvec(NodeId id);
  void emit_matvec_rows(NodeId id, Value* first_row, int count, Value* cols);
  bool row_dot_applies(NodeId id) const;
  void emit_matvec_row_dots(NodeId id);
  void emit_staircase_matvec(NodeId id);
  void emit_gather(NodeId id);
  void emit_concat(NodeId id);
  void emit_sum(NodeId id);
  void emit_matvec_t(NodeId id);
  void emit_matvec_t_cols(NodeId id, Value* first_col, int count, Value* first_row);
  void emit_scatter(NodeId id);
  void emit_solve(NodeId id);
  void emit_made_sequence(NodeId id);
  Value* index_table(const std::vector<int>& indices, const char* name);
  Value* table_entry(Value* table, Value* k);
  void check_gradient_entry() const;
  void emit_accumulation(size_t index);
  void reduce_partial_sums();
  void plan_stages();
  void transpose(Values& v);
  llvm::Function* outer_helper();
  llvm::Function* transpose_helper();
  llvm::Function* define_helper(const std::string& name, const std::vector<llvm::Type*>& args,
                                unsigned noalias_pointers,
                                const std::function<void(llvm::Function*)>& body);
  Value* live(Value* v) { return B_.CreateSelect(mask_, v, splat_const(0)); }
  // An elementwise op's Ops.def formula (LlvmFormula, OpFormula.hpp).
  friend struct LlvmFormula;
  Value* lower_elementwise(Op op, Value* a, Value* b, Value* c);
  Value* unary_intrinsic(llvm::Intrinsic::ID id, Value* a) {
    return B_.CreateUnaryIntrinsic(id, a);
  }
  Value* call_libm(const std::string& name, Value* a);
  Value* exp(Value* a) { return call_libm("exp", a); }
  Value* log(Value* a) { return call_libm("log", a); }
  Value* call_vector(const VectorFunction& fn, Value* a);
  llvm::Function* lane_helper(const std::string& scalar_name);

  const Graph& g_;
  const EntryPoint& entry_;
  const Precision precision_;
  const int W_;
  const int row_lanes_;  // W_ = 1: lanes of the vectors a matrix row is read in (0: none)
  const VectorMath& vector_math_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> B_;
  llvm::Type* T_;
  llvm::FixedVectorType* VT_;
  llvm::Function* F_ = nullptr;
  Value* params_ = nullptr;
  Value* in_ = nullptr;
  std::vector<Value*> outs_;
  Value* n_ = nullptr;
  Value* lanes_ = nullptr;  // <W x i64>: sample index of each lane in this block
  Value* mask_ = nullptr;   // <W x i1>: lanes < n
  Value* scratch_ = nullptr;
  Value* grad_ = nullptr;  // mean_gradient: the gradient argument
  // mean_gradient: outer products are staged for stage_blocks_ blocks; for
  // accumulation a, its left operand rows x (K W) at stage_offset_[a] of
  // the workspace, its right operand transposed, (K W) x cols, after it.
  int64_t stage_blocks_ = 1;
  std::vector<int64_t> stage_offset_;
  int64_t workspace_elements_ = 0;
  Value* workspace_ = nullptr;
  Value* stage_lane_ = nullptr;          // i64: the first lane of this block in the stages
  Value* flush_ = nullptr;               // i1: this block ends a group (or the batch)
  Value* partials_ = nullptr;            // mean_gradient: per-lane sums of the value accumulations
  std::vector<int64_t> partial_offset_;  // by accumulation: its first vector in partials_, or -1
  BufferPlan plan_;
  std::vector<Values> regs_;  // by NodeId: elements of register-held nodes
};

FunctionLowering::FunctionLowering(const Graph& g, const EntryPoint& entry, Precision precision,
                                   int width, int row_lanes, const VectorMath& vector_math,
                                   llvm::Module& m)
    : g_(g),
      entry_(entry),
      precision_(precision),
      W_(width),
      row_lanes_(row_lanes),
      vector_math_(vector_math),
      m_(m),
      ctx_(m.getContext()),
      B_(m.getContext()),
      T_(precision == Precision::f32 ? llvm::Type::getFloatTy(ctx_)
                                     : llvm::Type::getDoubleTy(ctx_)),
      VT_(llvm::FixedVectorType::get(T_, static_cast<unsigned>(width))) {}

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

// Broadcasts are views (element k of one is element 0 of its operand);
// constants and parameters are read where they are.
bool FunctionLowering::needs_buffer(NodeId id) const {
  const Op op = g_.node(id).op;
  if (op == Op::made_sequence) return true;  // indexed by its loop's position
  return op != Op::constant && op != Op::param && op != Op::broadcast && g_.len(id) > kUnrollMax;
}

// Whether element(id, k) accepts a k computed at run time.
bool FunctionLowering::addressable(NodeId id) const {
  const Op op = g_.node(id).op;
  return op == Op::constant || op == Op::param || op == Op::broadcast ||
         plan_.offset[static_cast<size_t>(id)] >= 0;
}

Value* FunctionLowering::element(NodeId id, Value* k) {
  const Node& n = g_.node(id);
  if (n.len == 1) k = i64(0);
  if (n.op == Op::constant) return splat_const(n.value);
  if (n.op == Op::broadcast) return element(n.args[0], i64(0));
  if (n.op == Op::param) {
    const int64_t offset = g_.params().at(static_cast<size_t>(n.index)).offset;
    Value* at = B_.CreateGEP(T_, params_, B_.CreateNSWAdd(i64(offset), k));
    return splat(B_.CreateLoad(T_, at));
  }
  const int64_t slot = plan_.offset[static_cast<size_t>(id)];
  if (slot >= 0)
    return B_.CreateLoad(VT_, B_.CreateGEP(VT_, scratch_, B_.CreateNSWAdd(i64(slot), k)));
  auto* ck = llvm::dyn_cast<llvm::ConstantInt>(k);
  internal_check(ck != nullptr, "llvm backend: run-time index into a register-held node");
  return regs_[static_cast<size_t>(id)].at(ck->getZExtValue());
}

void FunctionLowering::define(NodeId id, Value* k, Value* v) {
  const int64_t slot = plan_.offset[static_cast<size_t>(id)];
  if (slot >= 0) {
    B_.CreateStore(v, B_.CreateGEP(VT_, scratch_, B_.CreateNSWAdd(i64(slot), k)));
    return;
  }
  auto* ck = llvm::dyn_cast<llvm::ConstantInt>(k);
  internal_check(ck != nullptr, "llvm backend: run-time index into a register-held node");
  Values& elems = regs_[static_cast<size_t>(id)];
  elems.resize(static_cast<size_t>(g_.len(id)));
  elems[ck->getZExtValue()] = v;
}

// map:           void NAME(const T* params, const T* in, T* out_0, ..., T* out_k, int64_t n)
// mean_gradient: T NAME(const T* params, const T* in, int64_t n, T* grad)
void FunctionLowering::create_function() {
  internal_check(m_.getFunction(entry_.name) == nullptr, "llvm backend: duplicate entry name");
  auto* ptr = llvm::PointerType::getUnqual(ctx_);
  llvm::FunctionType* type = nullptr;
  if (entry_.kind == EntryKind::mean_gradient) {
    type = llvm::FunctionType::get(T_, {ptr, ptr, B_.getInt64Ty(), ptr, ptr}, false);
  } else {
    std::vector<llvm::Type*> args(2 + entry_.outputs.size(), ptr);
    args.push_back(B_.getInt64Ty());
    type = llvm::FunctionType::get(B_.getVoidTy(), args, false);
  }
  F_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, entry_.name, m_);
  F_->setDoesNotThrow();
  // Keep <W x T> in full-width registers even where the target prefers narrower ones.
  F_->addFnAttr("min-legal-vector-width", std::to_string(VT_->getPrimitiveSizeInBits()));
  for (unsigned i = 0; i < 2; ++i) {
    F_->addParamAttr(i, llvm::Attribute::ReadOnly);
    F_->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  params_ = F_->getArg(0);
  in_ = F_->getArg(1);
  if (entry_.kind == EntryKind::mean_gradient) {
    n_ = F_->getArg(2);
    grad_ = F_->getArg(3);
    workspace_ = F_->getArg(4);
    for (unsigned i = 3; i < 5; ++i) {
      F_->addParamAttr(i, llvm::Attribute::NoCapture);
      F_->addParamAttr(i, llvm::Attribute::NoAlias);
    }
    return;
  }
  for (unsigned i = 0; i < entry_.outputs.size(); ++i) outs_.push_back(F_->getArg(2 + i));
  n_ = F_->getArg(static_cast<unsigned>(2 + entry_.outputs.size()));
}

void FunctionLowering::check_gradient_entry() const {
  internal_check(entry_.outputs.size() == 1 && g_.len(entry_.outputs[0]) == 1,
                 "llvm backend: a mean_gradient entry has one output of length 1");
  for (const Accumulation& a : entry_.accumulations) {
    const bool value = a.value >= 0, outer = a.outer_a >= 0 && a.outer_b >= 0;
    internal_check(value != outer && (value || (a.outer_a >= 0) == (a.outer_b >= 0)),
                   "llvm backend: an accumulation is a value or an outer product");
    const int64_t stride = a.stride > 0 ? a.stride : (outer ? g_.len(a.outer_b) : 0);
    const int64_t size =
        value ? g_.len(a.value) : int64_t{g_.len(a.outer_a) - 1} * stride + g_.len(a.outer_b);
    internal_check(a.offset >= 0 && a.offset + size <= g_.param_count(),
                   "llvm backend: accumulation outside the parameter buffer");
  }
}

// Both kinds walk the batch in blocks of W samples. A mean_gradient entry
// point zeroes `grad`, adds each block's live lanes of every accumulation
// into it (as soon as the accumulation's operands are evaluated, so they
// need not stay live), and scales by 1/n at the end; the loss is carried
// across blocks as a vector of per-lane sums.
void FunctionLowering::emit() {
  const bool gradient = entry_.kind == EntryKind::mean_gradient;
  if (gradient) check_gradient_entry();
  internal_check(gradient || entry_.accumulations.empty(),
                 "llvm backend: accumulations on a map entry point");
  create_function();
  plan_ = plan_buffers(g_, entry_, [this](NodeId id) { return needs_buffer(id); });
  regs_.assign(g_.size(), {});

  auto* entry = llvm::BasicBlock::Create(ctx_, "entry", F_);
  auto* block = llvm::BasicBlock::Create(ctx_, "block", F_);
  auto* exit = llvm::BasicBlock::Create(ctx_, "exit", F_);
  B_.SetInsertPoint(entry);
  if (plan_.slots > 0) scratch_ = B_.CreateAlloca(VT_, i64(plan_.slots), "scratch");
  if (gradient) {
    plan_stages();
    const uint64_t bytes =
        static_cast<uint64_t>(g_.param_count()) * (T_->getPrimitiveSizeInBits() / 8);
    if (bytes > 0) B_.CreateMemSet(grad_, B_.getInt8(0), B_.getInt64(bytes), llvm::MaybeAlign(1));
    // Value accumulations (bias gradients) add whole vectors per block and
    // sum the lanes once at the end; a horizontal sum per element per block
    // was ~5% of a MAF's gradient. Up to 1 MB of stack, else per block.
    int64_t vectors = 0;
    for (const Accumulation& a : entry_.accumulations) {
      partial_offset_.push_back(a.value >= 0 ? vectors : -1);
      if (a.value >= 0) vectors += g_.len(a.value);
    }
    const uint64_t partial_bytes =
        static_cast<uint64_t>(vectors) * (VT_->getPrimitiveSizeInBits() / 8);
    if (vectors > 0 && partial_bytes <= (1u << 20)) {
      partials_ = B_.CreateAlloca(VT_, i64(vectors), "partials");
      B_.CreateMemSet(partials_, B_.getInt8(0), B_.getInt64(partial_bytes), llvm::MaybeAlign(1));
    }
  }
  B_.CreateCondBr(B_.CreateICmpSGT(n_, i64(0)), block, exit);

  B_.SetInsertPoint(block);
  llvm::PHINode* base = B_.CreatePHI(B_.getInt64Ty(), 2, "base");
  base->addIncoming(i64(0), entry);
  llvm::PHINode* loss = nullptr;
  if (gradient) {
    loss = B_.CreatePHI(VT_, 2, "loss");
    loss->addIncoming(splat_const(0), entry);
  }
  std::vector<llvm::Constant*> iota;
  for (int j = 0; j < W_; ++j) iota.push_back(B_.getInt64(static_cast<uint64_t>(j)));
  lanes_ = B_.CreateAdd(splat(base), llvm::ConstantVector::get(iota), "lanes");
  mask_ = B_.CreateICmpSLT(lanes_, splat(n_), "live");
  if (gradient) {
    Value* in_group = B_.CreateURem(B_.CreateUDiv(base, i64(W_)), i64(stage_blocks_));
    stage_lane_ = B_.CreateMul(in_group, i64(W_), "stage.lane");
    flush_ = B_.CreateOr(B_.CreateICmpEQ(in_group, i64(stage_blocks_ - 1)),
                         B_.CreateICmpSGE(B_.CreateNSWAdd(base, i64(W_)), n_), "flush");
  }

  for (size_t i = 0; i < plan_.order.size(); ++i) {
    emit_node(plan_.order[i]);
    for (size_t a : plan_.accumulate_after[i]) emit_accumulation(a);
  }
  Value* loss_next = nullptr;
  if (gradient)
    loss_next = B_.CreateFAdd(loss, live(element(entry_.outputs[0], i64(0))));
  else
    emit_outputs();

  Value* next = B_.CreateNSWAdd(base, i64(W_));
  llvm::BasicBlock* latch = B_.GetInsertBlock();
  base->addIncoming(next, latch);
  if (!gradient) {
    B_.CreateCondBr(B_.CreateICmpSLT(next, n_), block, exit);
    B_.SetInsertPoint(exit);
    B_.CreateRetVoid();
    return;
  }
  loss->addIncoming(loss_next, latch);
  auto* finish = llvm::BasicBlock::Create(ctx_, "finish", F_);
  B_.CreateCondBr(B_.CreateICmpSLT(next, n_), block, finish);

  // Means: the sums times 1/n (n > 0 here).
  B_.SetInsertPoint(finish);
  reduce_partial_sums();
  Value* scale = B_.CreateFDiv(llvm::ConstantFP::get(T_, 1.0), B_.CreateSIToFP(n_, T_));
  // Whole vectors, then the rest one by one (the pipeline has no loop
  // vectorizer: a scalar loop here was 7% of a 1.8M-parameter gradient).
  const int64_t count = g_.param_count(), whole = count / W_;
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  for_each(whole, [&](Value* k) {
    Value* at = B_.CreateGEP(VT_, grad_, k);
    B_.CreateAlignedStore(B_.CreateFMul(B_.CreateAlignedLoad(VT_, at, align), splat(scale)), at,
                          align);
  });
  for (int64_t k = whole * W_; k < count; ++k) {
    Value* at = B_.CreateGEP(T_, grad_, i64(k));
    B_.CreateStore(B_.CreateFMul(B_.CreateLoad(T_, at), scale), at);
  }
  llvm::CallInst* total = B_.CreateFAddReduce(llvm::ConstantFP::get(T_, 0.0), loss_next);
  total->setHasAllowReassoc(true);
  B_.CreateRet(B_.CreateFMul(total, scale));

  B_.SetInsertPoint(exit);  // n <= 0: grad is zeroed
  B_.CreateRet(llvm::ConstantFP::get(T_, 0.0));
}

// The live lanes of one block, summed into grad.
//   value: grad[offset + k] += sum_lanes value[k]
//   outer: grad[offset + r * cols + c] += sum_lanes a[r] * b[c], by the
//          register-blocked kernel of outer_helper() on staged copies of a
//          (rows x W) and b transposed (W x cols), dead lanes zeroed in both.
void FunctionLowering::emit_accumulation(size_t index) {
  const Accumulation& acc = entry_.accumulations[index];
  Value* dest = B_.CreateGEP(T_, grad_, i64(acc.offset));
  if (acc.value >= 0 && partials_ != nullptr) {
    Value* part = B_.CreateGEP(VT_, partials_, i64(partial_offset_[index]));
    for_each(g_.len(acc.value), [&](Value* k) {
      Value* at = B_.CreateGEP(VT_, part, k);
      B_.CreateStore(B_.CreateFAdd(B_.CreateLoad(VT_, at), live(element(acc.value, k))), at);
    });
    return;
  }
  if (acc.value >= 0) {
    for_each(g_.len(acc.value), [&](Value* k) {
      Value* at = B_.CreateGEP(T_, dest, k);
      llvm::CallInst* sum = B_.CreateFAddReduce(B_.CreateLoad(T_, at), live(element(acc.value, k)));
      sum->setHasAllowReassoc(true);
      B_.CreateStore(sum, at);
    });
    return;
  }
  const int64_t rows = g_.len(acc.outer_a), cols = g_.len(acc.outer_b);
  const int64_t a_stride = stage_blocks_ * W_;
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  Value* stage_a = B_.CreateGEP(T_, workspace_, i64(stage_offset_[index]));
  Value* stage_b = B_.CreateGEP(T_, stage_a, i64(rows * a_stride));
  for_each(rows, [&](Value* r) {
    Value* at =
        B_.CreateGEP(T_, stage_a, B_.CreateAdd(B_.CreateMul(r, i64(a_stride)), stage_lane_));
    B_.CreateAlignedStore(live(element(acc.outer_a, r)), at, align);
  });
  // This block's rows of b transposed.
  Value* block_b = B_.CreateGEP(T_, stage_b, B_.CreateMul(stage_lane_, i64(cols)));
  std::vector<llvm::Constant*> strided;
  for (int j = 0; j < W_; ++j) strided.push_back(B_.getInt64(static_cast<uint64_t>(j * cols)));
  Value* lane_rows = llvm::ConstantVector::get(strided);
  Value* all = llvm::ConstantInt::getTrue(
      llvm::FixedVectorType::get(B_.getInt1Ty(), static_cast<unsigned>(W_)));
  // b transposed: blocks of W columns by a transpose in registers and W
  // contiguous stores (a scatter per column was ~7% of a MAF's gradient),
  // in a helper when b is in scratch (the transposes are ~10% of a
  // gradient's IR if inlined at every accumulation); the columns after the
  // last whole block scattered.
  int64_t blocks = 0;
  const int64_t slot = plan_.offset[static_cast<size_t>(acc.outer_b)];
  if (slot >= 0 && cols >= W_) {
    blocks = cols / W_;
    B_.CreateCall(transpose_helper(),
                  {B_.CreateGEP(VT_, scratch_, i64(slot)), block_b, i64(blocks), i64(cols), mask_});
  }
  for_each(cols - blocks * W_, [&](Value* k) {
    Value* c = B_.CreateAdd(k, i64(blocks * W_));
    Value* at = B_.CreateGEP(T_, block_b, B_.CreateAdd(lane_rows, splat(c)));
    B_.CreateMaskedScatter(live(element(acc.outer_b, c)), at, align, all);
  });
  // At the end of a group of blocks: the group's lanes into the gradient.
  // Row lengths: the view's staircase, or every row full.
  std::vector<int> lengths = acc.row_lengths;
  if (lengths.empty()) lengths.assign(static_cast<size_t>(rows), static_cast<int>(cols));
  const int64_t stride = acc.stride > 0 ? acc.stride : cols;
  auto* add = llvm::BasicBlock::Create(ctx_, "outer.add", F_);
  auto* done = llvm::BasicBlock::Create(ctx_, "outer.done", F_);
  B_.CreateCondBr(flush_, add, done);
  B_.SetInsertPoint(add);
  B_.CreateCall(outer_helper(), {dest, stage_a, stage_b, i64(rows), i64(stride), i64(cols),
                                 index_table(lengths, "outer_rows"),
                                 B_.CreateAdd(stage_lane_, i64(W_)), i64(a_stride)});
  B_.CreateBr(done);
  B_.SetInsertPoint(done);
}

// How many blocks the outer products are staged for, and where each
// accumulation's staging areas sit in the workspace.
void FunctionLowering::plan_stages() {
  int64_t per_block = 0;  // elements staged per block, all accumulations
  for (const Accumulation& a : entry_.accumulations)
    if (a.value < 0) per_block += (g_.len(a.outer_a) + g_.len(a.outer_b)) * W_;
  const int64_t bytes = per_block * (T_->getPrimitiveSizeInBits() / 8);
  stage_blocks_ = bytes > 0 ? std::clamp<int64_t>(kStageBytes / bytes, 1, kMaxStageBlocks) : 1;
  int64_t offset = 0;
  for (const Accumulation& a : entry_.accumulations) {
    stage_offset_.push_back(offset);
    if (a.value < 0) offset += (g_.len(a.outer_a) + g_.len(a.outer_b)) * W_ * stage_blocks_;
  }
  workspace_elements_ = offset;
}

// W vectors of W lanes transposed in place (v[j][i] becomes v[i][j]), W a
// power of two: log2 W stages, each exchanging the off-diagonal s x s
// blocks of every 2s x 2s block (Eklundh's transpose) with two shuffles
// per pair of vectors.
void FunctionLowering::transpose(Values& v) {
  for (int s = 1; s < W_; s *= 2) {
    llvm::SmallVector<int, 64> low, high;
    for (int k = 0; k < W_; ++k) {
      low.push_back((k & s) == 0 ? k : W_ + k - s);
      high.push_back((k & s) == 0 ? k + s : W_ + k);
    }
    for (int i = 0; i < W_; ++i) {
      if ((i & s) != 0) continue;
      Value* a = v[static_cast<size_t>(i)];
      Value* b = v[static_cast<size_t>(i ^ s)];
      v[static_cast<size_t>(i)] = B_.CreateShuffleVector(a, b, low);
      v[static_cast<size_t>(i ^ s)] = B_.CreateShuffleVector(a, b, high);
    }
  }
}

// grad[offset + k] += the lanes of partial sum k, for every value accumulation.
void FunctionLowering::reduce_partial_sums() {
  if (partials_ == nullptr) return;
  for (size_t a = 0; a < entry_.accumulations.size(); ++a) {
    const Accumulation& acc = entry_.accumulations[a];
    if (acc.value < 0) continue;
    Value* dest = B_.CreateGEP(T_, grad_, i64(acc.offset));
    Value* part = B_.CreateGEP(VT_, partials_, i64(partial_offset_[a]));
    for_each(g_.len(acc.value), [&](Value* k) {
      Value* at = B_.CreateGEP(T_, dest, k);
      llvm::CallInst* sum = B_.CreateFAddReduce(B_.CreateLoad(T_, at),
                                                B_.CreateLoad(VT_, B_.CreateGEP(VT_, part, k)));
      sum->setHasAllowReassoc(true);
      B_.CreateStore(sum, at);
    });
  }
}

// An internal void helper `name` of the module, defined once: its first
// `noalias_pointers` arguments are restrict pointers; `body` emits it with
// the builder (and F_, which the loop emitters extend) on its entry block,
// both restored afterwards.
llvm::Function* FunctionLowering::define_helper(const std::string& name,
                                                const std::vector<llvm::Type*>& args,
                                                unsigned noalias_pointers,
                                                const std::function<void(llvm::Function*)>& body) {
  if (llvm::Function* existing = m_.getFunction(name)) return existing;
  auto* type = llvm::FunctionType::get(B_.getVoidTy(), args, false);
  auto* helper = llvm::Function::Create(type, llvm::Function::InternalLinkage, name, m_);
  helper->setDoesNotThrow();
  helper->addFnAttr("min-legal-vector-width", std::to_string(VT_->getPrimitiveSizeInBits()));
  for (unsigned i = 0; i < noalias_pointers; ++i) {
    helper->addParamAttr(i, llvm::Attribute::NoAlias);
    helper->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  llvm::IRBuilderBase::InsertPointGuard guard(B_);
  llvm::Function* caller = F_;
  F_ = helper;
  B_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", helper));
  body(helper);
  B_.CreateRetVoid();
  F_ = caller;
  return helper;
}

// void nfc.transpose(const <W x T>* src, T* dst, i64 blocks, i64 cols, <W x i1> live):
//   dst[j * cols + c] = live[j] ? src[c][j] : 0 for c < blocks * W, j < W,
// W vectors at a time, transposed in registers.
llvm::Function* FunctionLowering::transpose_helper() {
  auto* ptr = llvm::PointerType::getUnqual(ctx_);
  auto* mask_type = llvm::FixedVectorType::get(B_.getInt1Ty(), static_cast<unsigned>(W_));
  return define_helper(
      "nfc.transpose", {ptr, ptr, B_.getInt64Ty(), B_.getInt64Ty(), mask_type}, 2,
      [&](llvm::Function* helper) {
        Value* src = helper->getArg(0);
        Value* dst = helper->getArg(1);
        Value* cols = helper->getArg(3);
        Value* live = helper->getArg(4);
        const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
        for_dynamic(i64(0), helper->getArg(2), 1, [&](Value* q) {
          Value* first = B_.CreateMul(q, i64(W_));
          Values v;
          for (int i = 0; i < W_; ++i) {
            Value* at = B_.CreateGEP(VT_, src, B_.CreateAdd(first, i64(i)));
            v.push_back(B_.CreateSelect(live, B_.CreateLoad(VT_, at), splat_const(0)));
          }
          transpose(v);
          for (int j = 0; j < W_; ++j) {
            Value* row = B_.CreateMul(i64(j), cols);
            B_.CreateAlignedStore(v[static_cast<size_t>(j)],
                                  B_.CreateGEP(T_, dst, B_.CreateAdd(row, first)), align);
          }
        });
      });
}

// void nfc.outer(T* G, const T* A, const T* BT, i64 rows, i64 stride, i64 cols,
//                const i32* len, i64 lanes, i64 a_stride):
//   G[r * stride + c] += sum_{j < lanes} A[r * a_stride + j] * BT[j * cols + c]
//   for c < len[r] <= cols (len non-decreasing)
// Blocks of kOuterRows rows x kOuterCols vectors of columns stay in registers
// while j runs over the lanes: per lane, kOuterCols loads of BT and
// kOuterRows broadcasts of A feed kOuterRows * kOuterCols FMAs. A block's
// columns run to its last row's length; each row's columns past its own
// length are masked off (loads and stores), so any shape, dense or a
// staircase, is one code path.
llvm::Function* FunctionLowering::outer_helper() {
  auto* ptr = llvm::PointerType::getUnqual(ctx_);
  llvm::Type* i64_type = B_.getInt64Ty();
  return define_helper(
      "nfc.outer", {ptr, ptr, ptr, i64_type, i64_type, i64_type, ptr, i64_type, i64_type}, 3,
      [&](llvm::Function* helper) {
        Value* G = helper->getArg(0);
        Value* A = helper->getArg(1);
        Value* BT = helper->getArg(2);
        Value* rows = helper->getArg(3);
        Value* stride = helper->getArg(4);
        Value* bt_cols = helper->getArg(5);
        Value* lengths = helper->getArg(6);
        Value* lanes = helper->getArg(7);
        Value* a_stride = helper->getArg(8);
        const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
        std::vector<llvm::Constant*> iota;
        for (int j = 0; j < W_; ++j) iota.push_back(B_.getInt64(static_cast<uint64_t>(j)));
        Value* lane = llvm::ConstantVector::get(iota);
        Value* zero = splat_const(0);

        // One register block: rows [r0, r0 + R), vectors of columns from c0.
        auto kernel = [&](Value* r0, Value* c0, int R, int C) {
          Values col, row_len, masks, col_lanes;  // masks[rr * C + cc]: row rr's live columns
          for (int cc = 0; cc < C; ++cc) {
            col.push_back(B_.CreateAdd(c0, i64(int64_t{cc} * W_)));
            col_lanes.push_back(B_.CreateAdd(splat(col.back()), lane));
          }
          for (int rr = 0; rr < R; ++rr) {
            Value* len = splat(table_entry(lengths, B_.CreateAdd(r0, i64(rr))));
            for (int cc = 0; cc < C; ++cc)
              masks.push_back(B_.CreateICmpSLT(col_lanes[static_cast<size_t>(cc)], len));
          }
          // BT's columns are read up to the block's longest row (its last).
          Values bt_masks(masks.end() - C, masks.end());
          Values g_at, acc;
          for (int rr = 0; rr < R; ++rr)
            for (int cc = 0; cc < C; ++cc) {
              Value* row = B_.CreateMul(B_.CreateAdd(r0, i64(rr)), stride);
              g_at.push_back(B_.CreateGEP(T_, G, B_.CreateAdd(row, col[static_cast<size_t>(cc)])));
              acc.push_back(B_.CreateMaskedLoad(VT_, g_at.back(), align,
                                                masks[static_cast<size_t>(rr * C + cc)], zero));
            }
          // A loop over the staged lanes, up to kMaxStageBlocks x W (Jit.cpp's
          // pipeline does not unroll it). Staging several blocks, not unrolling,
          // is what made streaming G affordable.
          acc = for_dynamic_range(i64(0), lanes, acc, [&](Value* j, const Values& acc) {
            Values b, a, next;
            Value* bt_row = B_.CreateMul(j, bt_cols);
            for (int cc = 0; cc < C; ++cc) {
              Value* at = B_.CreateGEP(T_, BT, B_.CreateAdd(bt_row, col[static_cast<size_t>(cc)]));
              b.push_back(
                  B_.CreateMaskedLoad(VT_, at, align, bt_masks[static_cast<size_t>(cc)], zero));
            }
            for (int rr = 0; rr < R; ++rr) {
              Value* at = B_.CreateGEP(
                  T_, A, B_.CreateAdd(B_.CreateMul(B_.CreateAdd(r0, i64(rr)), a_stride), j));
              a.push_back(splat(B_.CreateLoad(T_, at)));
            }
            for (int rr = 0; rr < R; ++rr)
              for (int cc = 0; cc < C; ++cc)
                next.push_back(
                    B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                       {a[static_cast<size_t>(rr)], b[static_cast<size_t>(cc)],
                                        acc[static_cast<size_t>(rr * C + cc)]}));
            return next;
          });
          for (size_t i = 0; i < acc.size(); ++i)
            B_.CreateMaskedStore(acc[i], g_at[i], align, masks[i]);
        };
        Value* block_rows = B_.CreateMul(B_.CreateSDiv(rows, i64(kOuterRows)), i64(kOuterRows));
        for (auto [begin, end, R] :
             {std::tuple<Value*, Value*, int>{i64(0), block_rows, kOuterRows},
              std::tuple<Value*, Value*, int>{block_rows, rows, 1}}) {
          for_dynamic(begin, end, R, [&](Value* r0) {
            // Columns in blocks of kOuterCols vectors, then the rest in as few
            // vectors as cover it: a narrow gradient (a MADE's first layer, 8
            // columns) would otherwise run three vectors of mostly masked columns.
            Value* last = table_entry(lengths, B_.CreateAdd(r0, i64(R - 1)));
            const int64_t wide = int64_t{kOuterCols} * W_;
            Value* full = B_.CreateMul(B_.CreateSDiv(last, i64(wide)), i64(wide));
            for_dynamic(i64(0), full, wide, [&](Value* c0) { kernel(r0, c0, R, kOuterCols); });
            Value* left = B_.CreateSub(last, full);  // in [0, kOuterCols W)
            auto* done = llvm::BasicBlock::Create(ctx_, "outer.cols_done", F_);
            for (int C = kOuterCols - 1; C >= 0; --C) {  // left > C W: C + 1 vectors
              auto* run = llvm::BasicBlock::Create(ctx_, "outer.tail", F_);
              auto* next = C > 0 ? llvm::BasicBlock::Create(ctx_, "outer.tail_check", F_) : done;
              B_.CreateCondBr(B_.CreateICmpSGT(left, i64(int64_t{C} * W_)), run, next);
              B_.SetInsertPoint(run);
              kernel(r0, full, R, C + 1);
              B_.CreateBr(done);
              if (C > 0) B_.SetInsertPoint(next);
            }
            B_.SetInsertPoint(done);
          });
        }
      });
}

// No `default:`: a new op in Ops.def must be taught here.
void FunctionLowering::emit_node(NodeId id) {
  switch (g_.node(id).op) {
#define NFC_UNARY(o, spelling, expr) case Op::o:
#define NFC_BINARY(o, spelling, expr) case Op::o:
#define NFC_TERNARY(o, spelling, expr) case Op::o:
#include "compiler/ir/Ops.def"
    return emit_elementwise(id);
    case Op::constant:
    case Op::param:
      return;  // no storage: element() reads them where they are used
    case Op::input:
      return emit_input(id);
    case Op::var:
      throw InternalError("llvm backend: 'var' node left in a lowered program");
    case Op::matvec:
      return emit_matvec(id);
    case Op::gather:
      return emit_gather(id);
    case Op::concat:
      return emit_concat(id);
    case Op::sum:
      return emit_sum(id);
    case Op::matvec_t:
      return emit_matvec_t(id);
    case Op::scatter:
      return emit_scatter(id);
    case Op::broadcast:
      return;  // a view: element() reads its operand
    case Op::solve:
      return emit_solve(id);
    case Op::made_sequence:
      return emit_made_sequence(id);
  }
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

void FunctionLowering::emit_elementwise(NodeId id) {
  const Node& n = g_.node(id);
  for_each(n.len, [&](Value* k) {
    Value* a = element(n.args[0], k);
    Value* b = n.args.size() > 1 ? element(n.args[1], k) : nullptr;
    Value* c = n.args.size() > 2 ? element(n.args[2], k) : nullptr;
    define(id, k, lower_elementwise(n.op, a, b, c));
  });
}

// out[r] = sum_c M[offset + r * stride + c] * v[c], accumulated in column
// order like the interpreter, kRowBlock rows at a time.
void FunctionLowering::emit_matvec(NodeId id) {
  const Node& n = g_.node(id);
  if (row_dot_applies(id)) return emit_matvec_row_dots(id);
  if (!n.indices.empty()) return emit_staircase_matvec(id);
  if (n.rows <= kUnrollMax) return emit_matvec_rows(id, i64(0), n.rows, i64(n.cols));
  const int blocks = n.rows / kRowBlock, rest = n.rows % kRowBlock;
  // Row blocks stay a loop: each block is already kRowBlock accumulators
  // wide, and unrolling blocks only multiplies IR (and compile time).
  for_each(
      blocks,
      [&](Value* b) {
        emit_matvec_rows(id, B_.CreateMul(b, i64(kRowBlock)), kRowBlock, i64(n.cols));
      },
      1);
  if (rest > 0) emit_matvec_rows(id, i64(int64_t{blocks} * kRowBlock), rest, i64(n.cols));
}

// A staircase (row r reads columns < row_lengths[r], non-decreasing): each
// block of rows runs its columns up to its last row's length. The shorter
// rows of the block read structural zeros there (Graph.hpp's MatrixView),
// so the skipped work is the zeros right of the block's longest row: for a
// MADE about half of all multiply-adds.
void FunctionLowering::emit_staircase_matvec(NodeId id) {
  const Node& n = g_.node(id);
  const int blocks = n.rows / kRowBlock, rest = n.rows % kRowBlock;
  auto block_cols = [&](int first, int count) { return n.indices[size_t(first + count - 1)]; };
  if (n.rows <= 2 * kRowBlock) {  // short: straight-line blocks
    for (int first = 0; first < n.rows; first += kRowBlock) {
      const int count = std::min(kRowBlock, n.rows - first);
      emit_matvec_rows(id, i64(first), count, i64(block_cols(first, count)));
    }
    return;
  }
  // A vector held in registers has at most kUnrollMax elements: every
  // block reads all of them (the zeros past a row's length included)
  // rather than a run-time number, which registers cannot be indexed by.
  Value* table = nullptr;
  if (addressable(n.args[1])) {
    std::vector<int> cols;
    for (int b = 0; b < blocks; ++b) cols.push_back(block_cols(b * kRowBlock, kRowBlock));
    table = index_table(cols, "staircase");
  }
  for_each(
      blocks,
      [&](Value* b) {
        emit_matvec_rows(id, B_.CreateMul(b, i64(kRowBlock)), kRowBlock,
                         table ? table_entry(table, b) : i64(n.cols));
      },
      1);
  if (rest > 0)
    emit_matvec_rows(id, i64(blocks * kRowBlock), rest, i64(block_cols(blocks * kRowBlock, rest)));
}

// One sample per block (W = 1, the small-batch log_prob): the per-sample
// program is scalar, so the SIMD goes along a matrix row instead. Output r
// is the dot product of row r (its first row_lengths[r] columns for a
// staircase) with the input vector, both contiguous in memory, in vectors of
// row_lanes_ with a masked tail, summed at the end: a 64 x 64 layer costs
// 64 x 4 vector multiply-adds rather than 4096 scalar ones. The sum is
// reassociated, so results differ from the batch entry points by rounding.
bool FunctionLowering::row_dot_applies(NodeId id) const {
  const Node& n = g_.node(id);
  return W_ == 1 && row_lanes_ > 1 && n.cols >= row_lanes_ && g_.node(n.args[0]).op == Op::param &&
         plan_.offset[static_cast<size_t>(n.args[1])] >= 0;
}

void FunctionLowering::emit_matvec_row_dots(NodeId id) {
  const Node& n = g_.node(id);
  const int L = row_lanes_;
  auto* RT = llvm::FixedVectorType::get(T_, static_cast<unsigned>(L));
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  auto splat_row = [&](Value* x) { return B_.CreateVectorSplat(static_cast<unsigned>(L), x); };
  Value* zero = llvm::ConstantFP::get(RT, 0.0);
  std::vector<llvm::Constant*> iota;
  for (int j = 0; j < L; ++j) iota.push_back(B_.getInt64(static_cast<uint64_t>(j)));
  Value* lane = llvm::ConstantVector::get(iota);
  const int64_t matrix = g_.params().at(static_cast<size_t>(g_.node(n.args[0]).index)).offset;
  Value* weights = B_.CreateGEP(T_, params_, i64(matrix + n.offset));
  Value* v = B_.CreateGEP(T_, scratch_, i64(plan_.offset[static_cast<size_t>(n.args[1])]));
  Value* lengths = n.indices.empty() ? nullptr : index_table(n.indices, "row_lengths");
  for_each(n.rows, [&](Value* r) {
    Value* len = lengths ? table_entry(lengths, r) : i64(n.cols);
    Value* row = B_.CreateGEP(T_, weights, B_.CreateMul(r, i64(n.stride)));
    Value* chunks = B_.CreateSDiv(len, i64(L));
    Values acc = for_dynamic_range(i64(0), chunks, {zero}, [&](Value* q, const Values& a) {
      Value* c = B_.CreateMul(q, i64(L));
      Value* m = B_.CreateAlignedLoad(RT, B_.CreateGEP(T_, row, c), align);
      Value* x = B_.CreateAlignedLoad(RT, B_.CreateGEP(T_, v, c), align);
      return Values{B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {RT}, {m, x, a[0]})};
    });
    Value* tail = B_.CreateMul(chunks, i64(L));
    Value* live = B_.CreateICmpSLT(B_.CreateAdd(splat_row(tail), lane), splat_row(len));
    Value* m = B_.CreateMaskedLoad(RT, B_.CreateGEP(T_, row, tail), align, live, zero);
    Value* x = B_.CreateMaskedLoad(RT, B_.CreateGEP(T_, v, tail), align, live, zero);
    Value* sum = B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {RT}, {m, x, acc[0]});
    llvm::CallInst* total = B_.CreateFAddReduce(llvm::ConstantFP::get(T_, 0.0), sum);
    total->setHasAllowReassoc(true);
    define(id, r, splat(total));
  });
}

// Rows [first_row, first_row + count) over columns [0, cols); a constant
// `cols` gives a loop unrolled when short.
void FunctionLowering::emit_matvec_rows(NodeId id, Value* first_row, int count, Value* cols) {
  const Node& n = g_.node(id);
  const NodeId matrix = n.args[0], v = n.args[1];
  Values row_start;
  for (int i = 0; i < count; ++i)
    row_start.push_back(
        B_.CreateAdd(i64(n.offset), B_.CreateMul(B_.CreateAdd(first_row, i64(i)), i64(n.stride))));
  Values zeros(static_cast<size_t>(count), splat_const(0));
  auto step = [&](Value* c, const Values& acc) {
    Value* vc = element(v, c);
    Values next;
    for (int i = 0; i < count; ++i) {
      Value* m = element(matrix, B_.CreateAdd(row_start[static_cast<size_t>(i)], c));
      next.push_back(B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                        {m, vc, acc[static_cast<size_t>(i)]}));
    }
    return next;
  };
  auto* constant_cols = llvm::dyn_cast<llvm::ConstantInt>(cols);
  Values acc = constant_cols ? for_range(constant_cols->getSExtValue(), zeros, kUnrollMax, step)
                             : for_dynamic_range(i64(0), cols, zeros, step);
  for (int i = 0; i < count; ++i)
    define(id, B_.CreateAdd(first_row, i64(i)), acc[static_cast<size_t>(i)]);
}

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
  bool run = count > 0;
  for (int64_t k = 0; run && k < count; ++k)
    run = n.indices[static_cast<size_t>(k)] == n.indices[0] + k;
  if (run) {  // distinct indices: out[start + k] = a[k], zeros around
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

// out[c] = sum_r M[offset + r * stride + c] * a[r], accumulated in row order
// like the interpreter, kRowBlock columns at a time: each a[r] loaded feeds
// kRowBlock FMA chains, as in matvec. For a staircase, a block of columns
// starts at the first row long enough to reach its first column: the rows
// above hold only structural zeros there (and the ones it does read past
// their length are zeros too).
void FunctionLowering::emit_matvec_t(NodeId id) {
  const Node& n = g_.node(id);
  auto first_row = [&](int first_col) {
    int r = 0;
    while (!n.indices.empty() && r < n.rows && n.indices[size_t(r)] <= first_col) ++r;
    return r;
  };
  if (n.cols <= kUnrollMax) return emit_matvec_t_cols(id, i64(0), n.cols, i64(first_row(0)));
  const int blocks = n.cols / kRowBlock, rest = n.cols % kRowBlock;
  if (!n.indices.empty() && (blocks <= 2 || !addressable(n.args[1]))) {  // straight-line blocks
    for (int first = 0; first < n.cols; first += kRowBlock)
      emit_matvec_t_cols(id, i64(first), std::min(kRowBlock, n.cols - first),
                         i64(first_row(first)));
    return;
  }
  Value* starts = nullptr;
  if (!n.indices.empty()) {
    std::vector<int> rows;
    for (int b = 0; b < blocks; ++b) rows.push_back(first_row(b * kRowBlock));
    starts = index_table(rows, "staircase_t");
  }
  for_each(
      blocks,
      [&](Value* b) {
        emit_matvec_t_cols(id, B_.CreateMul(b, i64(kRowBlock)), kRowBlock,
                           starts ? table_entry(starts, b) : i64(0));
      },
      1);
  if (rest > 0)
    emit_matvec_t_cols(id, i64(int64_t{blocks} * kRowBlock), rest,
                       i64(first_row(blocks * kRowBlock)));
}

void FunctionLowering::emit_matvec_t_cols(NodeId id, Value* first_col, int count,
                                          Value* first_row) {
  const Node& n = g_.node(id);
  const NodeId matrix = n.args[0], a = n.args[1];
  Values zeros(static_cast<size_t>(count), splat_const(0));
  auto step = [&](Value* r, const Values& acc) {
    Value* ar = element(a, r);
    Value* row =
        B_.CreateAdd(i64(n.offset), B_.CreateAdd(B_.CreateMul(r, i64(n.stride)), first_col));
    Values next;
    for (int i = 0; i < count; ++i) {
      Value* m = element(matrix, B_.CreateAdd(row, i64(i)));
      next.push_back(B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                        {m, ar, acc[static_cast<size_t>(i)]}));
    }
    return next;
  };
  auto* constant_first = llvm::dyn_cast<llvm::ConstantInt>(first_row);
  Values acc;
  if (constant_first && constant_first->isZero())
    acc = for_range(n.rows, zeros, kUnrollMax, step);
  else if (constant_first && n.rows - constant_first->getSExtValue() <= kUnrollMax)
    acc = for_range(
        n.rows - constant_first->getSExtValue(), zeros, kUnrollMax,
        [&](Value* k, const Values& acc) { return step(B_.CreateAdd(k, first_row), acc); });
  else
    acc = for_dynamic_range(first_row, i64(n.rows), zeros, step);
  for (int i = 0; i < count; ++i)
    define(id, B_.CreateAdd(first_col, i64(i)), acc[static_cast<size_t>(i)]);
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

// made_sequence (Ops.def): one emitted loop over the positions k, whatever
// the dimension, so IR and compile time do not grow with it. Per position
// and hidden layer, the rows of degree k are [start[k], start[k + 1]) of
// a constant table, all reading the same prefix of their input (its length
// from a second table), four rows at a time; the P output rows of position
// k are one block. u (the node's first D elements) is the first layer's
// input, hidden activations live in stack buffers.
void FunctionLowering::emit_made_sequence(NodeId id) {
  const Node& n = g_.node(id);
  const MadeSequence& s = g_.made_sequence_info(n.index);
  const int D = s.dim, P = s.params_per_dim;
  const size_t L = s.layers.size();
  std::vector<Value*> hidden;  // <W x T> per row of each hidden layer
  Value* v_copy = nullptr;     // v, indexable by the loop's position
  {
    llvm::IRBuilder<> entry(&F_->getEntryBlock(), F_->getEntryBlock().begin());
    for (size_t l = 0; l + 1 < L; ++l)
      hidden.push_back(entry.CreateAlloca(VT_, i64(s.layers[l].rows), "made.h"));
    v_copy = entry.CreateAlloca(VT_, i64(D), "made.v");
  }
  for (int k = 0; k < D; ++k)
    B_.CreateStore(element(n.args[0], i64(k)), B_.CreateGEP(VT_, v_copy, i64(k)));
  // A bias computed per sample (a conditional MADE's, holding the context's
  // contribution) may live in registers: copied so rows can index it.
  std::vector<Value*> bias_copy(L, nullptr);
  for (size_t l = 0; l < L; ++l) {
    const NodeId b = n.args[2 + 2 * l];
    if (addressable(b)) continue;
    llvm::IRBuilder<> entry(&F_->getEntryBlock(), F_->getEntryBlock().begin());
    bias_copy[l] = entry.CreateAlloca(VT_, i64(g_.len(b)), "made.b");
    for (int r = 0; r < g_.len(b); ++r)
      B_.CreateStore(element(b, i64(r)), B_.CreateGEP(VT_, bias_copy[l], i64(r)));
  }
  auto load = [&](Value* buffer, Value* k) {
    return B_.CreateLoad(VT_, B_.CreateGEP(VT_, buffer, k));
  };
  // Per hidden layer: first row of each degree (D + 1 entries), prefix length per degree.
  std::vector<Value*> starts, prefixes;
  for (size_t l = 0; l + 1 < L; ++l) {
    starts.push_back(index_table(s.degree_starts(l), "made.start"));
    prefixes.push_back(index_table(s.degree_prefixes(l), "made.prefix"));
  }
  Value* out_prefixes = index_table(s.output_prefixes(), "made.out_prefix");
  // The step's nodes above its placeholders, operands first.
  const std::vector<NodeId> inner = made_sequence_step(g_, s).nodes;

  // Rows [r0, r0 + R) of layer l over the first `cols` inputs: w h + b.
  // With split 2 each row keeps two partial sums (even and odd columns,
  // added at the end): the P output rows of a position are too few
  // independent chains to cover the FMA latency (their loop was a fifth of
  // a MAF's sampling time).
  auto rows = [&](size_t l, Value* r0, int R, Value* cols, int split) {
    const NodeId w = n.args[1 + 2 * l], b = n.args[2 + 2 * l];
    const int64_t stride = s.layers[l].cols;
    Values acc, row_start;
    for (int i = 0; i < R; ++i) {
      Value* r = B_.CreateAdd(r0, i64(i));
      acc.push_back(bias_copy[l] ? load(bias_copy[l], r) : element(b, r));
      row_start.push_back(B_.CreateAdd(B_.CreateMul(r, i64(stride)), i64(s.layers[l].first_col)));
    }
    auto step = [&](Value* c, const Values& acc, size_t first) {
      Value* in = l == 0 ? element(id, c) : load(hidden[l - 1], c);
      Values next(acc);
      for (int i = 0; i < R; ++i) {
        Value* m = element(w, B_.CreateAdd(row_start[size_t(i)], c));
        next[first + size_t(i)] =
            B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_}, {m, in, acc[first + size_t(i)]});
      }
      return next;
    };
    if (split == 1)
      return for_dynamic_range(i64(0), cols, acc,
                               [&](Value* c, const Values& a) { return step(c, a, 0); });
    for (int i = 0; i < R; ++i) acc.push_back(splat_const(0));  // the odd columns' sums
    Value* pairs = B_.CreateSDiv(cols, i64(2));
    acc = for_dynamic_range(i64(0), pairs, acc, [&](Value* q, const Values& a) {
      Value* c = B_.CreateMul(q, i64(2));
      return step(B_.CreateAdd(c, i64(1)), step(c, a, 0), size_t(R));
    });
    // An odd column count leaves its last column.
    acc = for_dynamic_range(B_.CreateMul(pairs, i64(2)), cols, acc,
                            [&](Value* c, const Values& a) { return step(c, a, 0); });
    Values sums;
    for (int i = 0; i < R; ++i) sums.push_back(B_.CreateFAdd(acc[size_t(i)], acc[size_t(R + i)]));
    return sums;
  };
  constexpr int kRows = 4;
  for_each(
      D,
      [&](Value* k) {
        for (size_t l = 0; l + 1 < L; ++l) {
          Value* lo = table_entry(starts[l], k);
          Value* hi = table_entry(starts[l], B_.CreateAdd(k, i64(1)));
          Value* cols = table_entry(prefixes[l], k);
          auto block = [&](Value* r0, int R) {
            const Values pre = rows(l, r0, R, cols, R == 1 ? 2 : 1);
            for (int i = 0; i < R; ++i) {
              Value* r = B_.CreateAdd(r0, i64(i));
              Value* a = lower_elementwise(s.act, pre[size_t(i)], nullptr, nullptr);
              if (s.layers[l].residual) a = B_.CreateFAdd(a, load(hidden[l - 1], r));
              B_.CreateStore(a, B_.CreateGEP(VT_, hidden[l], r));
            }
          };
          Value* tiled = B_.CreateAdd(
              lo, B_.CreateMul(B_.CreateSDiv(B_.CreateSub(hi, lo), i64(kRows)), i64(kRows)));
          for_dynamic(lo, tiled, kRows, [&](Value* r0) { block(r0, kRows); });
          for_dynamic(tiled, hi, 1, [&](Value* r0) { block(r0, 1); });
        }
        const Values raw =
            rows(L - 1, B_.CreateMul(k, i64(P)), P, table_entry(out_prefixes, k), P <= 4 ? 2 : 1);
        std::unordered_map<NodeId, Value*> bound;
        for (int p = 0; p < P; ++p) {
          define(id, B_.CreateAdd(i64(D), B_.CreateAdd(B_.CreateMul(k, i64(P)), i64(p))),
                 raw[size_t(p)]);
          bound[s.raw[size_t(p)]] = raw[size_t(p)];
        }
        bound[s.target] = load(v_copy, k);
        for (NodeId j : inner) {
          const Node& jn = g_.node(j);
          Value* ops[3] = {nullptr, nullptr, nullptr};
          for (size_t i = 0; i < jn.args.size() && i < 3; ++i) {
            auto it = bound.find(jn.args[i]);
            ops[i] = it != bound.end() ? it->second : element(jn.args[i], i64(0));
          }
          bound[j] =
              jn.op == Op::broadcast ? ops[0] : lower_elementwise(jn.op, ops[0], ops[1], ops[2]);
        }
        define(id, k, bound.at(s.step));
      },
      0);
}

// Safeguarded Newton-bisection for f(x) = target (Ops.def), step for step
// like the interpreter's newton_bisection, on all W lanes at once: each
// phase is an emitted loop whose state (bracket, f at its ends, iterate) is
// carried in phis, with a per-lane mask of the lanes still moving; lanes
// that are done keep their values (selects) and the loop exits as soon as
// no lane is active, or after the budget (128 doublings, 100 steps). Dead
// lanes (past n) start inactive. Inside the loops the x-dependent subgraph
// of f (and dfdx) is lowered at element k with x bound to the iterate; the
// context operands are read once, before the loops.
void FunctionLowering::emit_solve(NodeId id) {
  const Node& n = g_.node(id);
  const SolveBody body = solve_body(g_, id);
  const NodeId f = body.f, x = body.x;
  const NodeId target = n.args[0];
  Value* zero = splat_const(0);
  Value* half = splat_const(0.5);
  Value* tol =
      splat_const(precision_ == Precision::f32 ? 4 * double{FLT_EPSILON} : 4 * DBL_EPSILON);

  for_each(n.len, [&](Value* k) {
    Value* t = element(target, k);
    std::unordered_map<NodeId, Value*> context;
    for (NodeId a : body.reads) context[a] = element(a, k);
    // The x-dependent nodes in `nodes` at the iterate xv; returns the map.
    auto evaluate = [&](const std::vector<NodeId>& nodes, Value* xv) {
      std::unordered_map<NodeId, Value*> v = context;
      v[x] = xv;
      for (NodeId j : nodes) {
        const Node& jn = g_.node(j);
        Value* ops[3] = {nullptr, nullptr, nullptr};
        for (size_t i = 0; i < jn.args.size() && i < 3; ++i) ops[i] = v.at(jn.args[i]);
        v[j] = jn.op == Op::broadcast ? ops[0] : lower_elementwise(jn.op, ops[0], ops[1], ops[2]);
      }
      return v;
    };
    auto f_minus_t = [&](Value* xv) { return B_.CreateFSub(evaluate(body.f_nodes, xv).at(f), t); };

    // A loop while any lane of the mask `active(state)` is set, at most
    // `budget` times; `step` maps the state to the next one. Returns the
    // state at exit.
    auto loop_while = [&](Values state, int budget,
                          const std::function<Value*(const Values&)>& active,
                          const std::function<Values(const Values&, Value* mask)>& step) {
      llvm::BasicBlock* pre = B_.GetInsertBlock();
      auto* header = llvm::BasicBlock::Create(ctx_, "solve.loop", F_);
      auto* body = llvm::BasicBlock::Create(ctx_, "solve.body", F_);
      auto* done = llvm::BasicBlock::Create(ctx_, "solve.end", F_);
      B_.CreateBr(header);
      B_.SetInsertPoint(header);
      llvm::PHINode* i = B_.CreatePHI(B_.getInt32Ty(), 2, "iter");
      i->addIncoming(B_.getInt32(0), pre);
      std::vector<llvm::PHINode*> phis;
      Values current;
      for (Value* s : state) {
        phis.push_back(B_.CreatePHI(s->getType(), 2));
        phis.back()->addIncoming(s, pre);
        current.push_back(phis.back());
      }
      Value* mask = active(current);
      Value* go = B_.CreateAnd(B_.CreateICmpSLT(i, B_.getInt32(budget)), B_.CreateOrReduce(mask));
      B_.CreateCondBr(go, body, done);
      B_.SetInsertPoint(body);
      Values next = step(current, mask);
      Value* i_next = B_.CreateNSWAdd(i, B_.getInt32(1));
      llvm::BasicBlock* latch = B_.GetInsertBlock();
      B_.CreateBr(header);
      i->addIncoming(i_next, latch);
      for (size_t s = 0; s < phis.size(); ++s) phis[s]->addIncoming(next[s], latch);
      B_.SetInsertPoint(done);
      return current;
    };

    // Bracketing: double [lo, hi] on both sides while f - t has one sign
    // at both ends and is 0 at neither.
    Value* lo0 = splat_const(-1);
    Value* hi0 = splat_const(1);
    Values bracket = loop_while(
        {lo0, hi0, f_minus_t(lo0), f_minus_t(hi0)}, 128,
        [&](const Values& s) {
          Value* same = B_.CreateICmpEQ(B_.CreateFCmpOGT(s[2], zero), B_.CreateFCmpOGT(s[3], zero));
          Value* nonzero = B_.CreateAnd(B_.CreateFCmpUNE(s[2], zero), B_.CreateFCmpUNE(s[3], zero));
          return B_.CreateAnd(mask_, B_.CreateAnd(same, nonzero));
        },
        [&](const Values& s, Value* grow) {
          Value* w = B_.CreateFSub(s[1], s[0]);
          Value* lo = B_.CreateSelect(grow, B_.CreateFSub(s[0], w), s[0]);
          Value* hi = B_.CreateSelect(grow, B_.CreateFAdd(s[1], w), s[1]);
          return Values{lo, hi, B_.CreateSelect(grow, f_minus_t(lo), s[2]),
                        B_.CreateSelect(grow, f_minus_t(hi), s[3])};
        });
    Value* lo_zero = B_.CreateFCmpOEQ(bracket[2], zero);
    Value* hi_zero = B_.CreateFCmpOEQ(bracket[3], zero);

    // Newton steps, bisecting where a step leaves the bracket; state
    // {lo, hi, flo, x, active}.
    Value* active0 = B_.CreateAnd(mask_, B_.CreateNot(B_.CreateOr(lo_zero, hi_zero)));
    Value* x0 = B_.CreateFMul(half, B_.CreateFAdd(bracket[0], bracket[1]));
    Values newton = loop_while(
        {bracket[0], bracket[1], bracket[2], x0, active0}, 100,
        [&](const Values& s) { return s[4]; },
        [&](const Values& s, Value* active) {
          Value *lo = s[0], *hi = s[1], *flo = s[2], *xv = s[3];
          const auto v = evaluate(body.nodes, xv);
          Value* fx = B_.CreateFSub(v.at(f), t);
          Value* d = v.at(body.dfdx);
          Value* root = B_.CreateFCmpOEQ(fx, zero);
          // The root lies between x and hi where f - t has the sign of f(lo) - t.
          Value* same = B_.CreateICmpEQ(B_.CreateFCmpOGT(fx, zero), B_.CreateFCmpOGT(flo, zero));
          Value* lo1 = B_.CreateSelect(same, xv, lo);
          Value* flo1 = B_.CreateSelect(same, fx, flo);
          Value* hi1 = B_.CreateSelect(same, hi, xv);
          Value* next = B_.CreateFSub(xv, B_.CreateFDiv(fx, d));
          // std::min(lo, hi) and std::max(lo, hi).
          Value* min = B_.CreateSelect(B_.CreateFCmpOLT(hi1, lo1), hi1, lo1);
          Value* max = B_.CreateSelect(B_.CreateFCmpOLT(lo1, hi1), hi1, lo1);
          Value* inside = B_.CreateAnd(B_.CreateFCmpOGT(next, min), B_.CreateFCmpOLT(next, max));
          next = B_.CreateSelect(inside, next, B_.CreateFMul(half, B_.CreateFAdd(lo1, hi1)));
          Value* step = unary_intrinsic(llvm::Intrinsic::fabs, B_.CreateFSub(next, xv));
          Value* bound = B_.CreateFMul(
              tol, B_.CreateFAdd(splat_const(1), unary_intrinsic(llvm::Intrinsic::fabs, xv)));
          Value* converged = B_.CreateFCmpOLE(step, bound);
          Value* move = B_.CreateAnd(active, B_.CreateNot(root));
          return Values{B_.CreateSelect(move, lo1, lo), B_.CreateSelect(move, hi1, hi),
                        B_.CreateSelect(move, flo1, flo), B_.CreateSelect(move, next, xv),
                        B_.CreateAnd(move, B_.CreateNot(converged))};
        });
    Value* result =
        B_.CreateSelect(lo_zero, bracket[0], B_.CreateSelect(hi_zero, bracket[1], newton[3]));
    define(id, k, result);
  });
}

// LLVM IR as a formula value (OpFormula.hpp): Ops.def's formulas become
// instructions on vectors of W lanes; exp and log take the vector maths
// (call_libm), sqrt and fabs are intrinsics. Results differ from the
// interpreter's only by the rounding of T and of the maths library.
struct LlvmFormula : FormulaArithmetic<LlvmFormula> {
  FunctionLowering* f = nullptr;
  Value* v = nullptr;

  LlvmFormula literal(double x) const { return {{}, f, f->splat_const(x)}; }
  LlvmFormula with(Value* result) const { return {{}, f, result}; }
  // Members, so that the friends below reach FunctionLowering through them.
  llvm::IRBuilder<>& B() const { return f->B_; }
  LlvmFormula libm(const char* name) const { return with(f->call_libm(name, v)); }
  LlvmFormula intrinsic(llvm::Intrinsic::ID id) const { return with(f->unary_intrinsic(id, v)); }

  friend LlvmFormula operator+(const LlvmFormula& a, const LlvmFormula& b) {
    return a.with(a.B().CreateFAdd(a.v, b.v));
  }
  friend LlvmFormula operator-(const LlvmFormula& a, const LlvmFormula& b) {
    return a.with(a.B().CreateFSub(a.v, b.v));
  }
  friend LlvmFormula operator*(const LlvmFormula& a, const LlvmFormula& b) {
    return a.with(a.B().CreateFMul(a.v, b.v));
  }
  friend LlvmFormula operator/(const LlvmFormula& a, const LlvmFormula& b) {
    return a.with(a.B().CreateFDiv(a.v, b.v));
  }
  friend LlvmFormula operator-(const LlvmFormula& a) { return a.with(a.B().CreateFNeg(a.v)); }
  friend LlvmFormula exp(const LlvmFormula& a) { return a.libm("exp"); }
  friend LlvmFormula log(const LlvmFormula& a) { return a.libm("log"); }
  friend LlvmFormula log1p(const LlvmFormula& a) { return a.libm("log1p"); }
  friend LlvmFormula expm1(const LlvmFormula& a) { return a.libm("expm1"); }
  friend LlvmFormula tanh(const LlvmFormula& a) { return a.libm("tanh"); }
  friend LlvmFormula atanh(const LlvmFormula& a) { return a.libm("atanh"); }
  friend LlvmFormula sinh(const LlvmFormula& a) { return a.libm("sinh"); }
  friend LlvmFormula cosh(const LlvmFormula& a) { return a.libm("cosh"); }
  friend LlvmFormula asinh(const LlvmFormula& a) { return a.libm("asinh"); }
  friend LlvmFormula erf(const LlvmFormula& a) { return a.libm("erf"); }
  friend LlvmFormula sqrt(const LlvmFormula& a) { return a.intrinsic(llvm::Intrinsic::sqrt); }
  friend LlvmFormula fabs(const LlvmFormula& a) { return a.intrinsic(llvm::Intrinsic::fabs); }
  friend LlvmFormula pow(const LlvmFormula& a, const LlvmFormula& b) {
    return a.with(a.B().CreateBinaryIntrinsic(llvm::Intrinsic::pow, a.v, b.v));
  }
  friend LlvmFormula select_pos(const LlvmFormula& a, const LlvmFormula& b, const LlvmFormula& c) {
    Value* positive = a.B().CreateFCmpOGT(a.v, a.literal(0).v);
    return a.with(a.B().CreateSelect(positive, b.v, c.v));
  }
};

Value* FunctionLowering::lower_elementwise(Op op, Value* a, Value* b, Value* c) {
  return apply_formula(op, LlvmFormula{{}, this, a}, LlvmFormula{{}, this, b},
                       LlvmFormula{{}, this, c})
      .v;
}

// A vector variant from `vector_math_` where there is one (a vector of
// lanes per call, W / lanes calls); otherwise exp and log are LLVM's
// intrinsics and the others, which have no vector form in LLVM, call the
// scalar function on each lane through one helper per function (keeps the
// IR of the callers small). LLVM expands the intrinsics to a libm call per
// lane too on x86, so the vector variants are what makes them fast.
Value* FunctionLowering::call_libm(const std::string& name, Value* a) {
  const std::string scalar = precision_ == Precision::f32 ? name + "f" : name;
  if (auto it = vector_math_.find(scalar); it != vector_math_.end())
    return call_vector(it->second, a);
  if (name == "exp") return unary_intrinsic(llvm::Intrinsic::exp, a);
  if (name == "log") return unary_intrinsic(llvm::Intrinsic::log, a);
  return B_.CreateCall(lane_helper(scalar), {a});
}

// fn on each run of fn.lanes lanes of a, the results concatenated.
Value* FunctionLowering::call_vector(const VectorFunction& fn, Value* a) {
  internal_check(fn.lanes >= 1 && W_ % fn.lanes == 0,
                 "llvm backend: vector math lanes do not divide the width");
  auto* part_type = llvm::FixedVectorType::get(T_, static_cast<unsigned>(fn.lanes));
  llvm::Function* callee = m_.getFunction(fn.symbol);
  if (callee == nullptr) {
    callee = llvm::Function::Create(llvm::FunctionType::get(part_type, {part_type}, false),
                                    llvm::Function::ExternalLinkage, fn.symbol, m_);
    callee->setDoesNotThrow();
    callee->setWillReturn();
    callee->setDoesNotAccessMemory();  // libmvec never sets errno
  }
  if (fn.lanes == W_) return B_.CreateCall(callee, {a});
  Values parts;
  for (int first = 0; first < W_; first += fn.lanes) {
    llvm::SmallVector<int, 16> lanes;
    for (int j = 0; j < fn.lanes; ++j) lanes.push_back(first + j);
    parts.push_back(B_.CreateCall(callee, {B_.CreateShuffleVector(a, lanes)}));
  }
  while (parts.size() > 1) {  // concatenate pairwise: W / lanes is a power of 2
    Values joined;
    for (size_t i = 0; i + 1 < parts.size(); i += 2) {
      const auto n = static_cast<int>(
          llvm::cast<llvm::FixedVectorType>(parts[i]->getType())->getNumElements());
      llvm::SmallVector<int, 32> lanes;
      for (int j = 0; j < 2 * n; ++j) lanes.push_back(j);
      joined.push_back(B_.CreateShuffleVector(parts[i], parts[i + 1], lanes));
    }
    parts = std::move(joined);
  }
  return parts[0];
}

llvm::Function* FunctionLowering::lane_helper(const std::string& scalar_name) {
  const std::string name = "nfc.lanes." + scalar_name;
  if (llvm::Function* existing = m_.getFunction(name)) return existing;
  llvm::FunctionCallee scalar =
      m_.getOrInsertFunction(scalar_name, llvm::FunctionType::get(T_, {T_}, false));
  auto* helper = llvm::Function::Create(llvm::FunctionType::get(VT_, {VT_}, false),
                                        llvm::Function::InternalLinkage, name, m_);
  helper->addFnAttr(llvm::Attribute::NoInline);
  helper->setDoesNotThrow();
  helper->setWillReturn();
  helper->setDoesNotAccessMemory();  // errno is never read: calls may be hoisted or merged
  helper->addFnAttr("min-legal-vector-width", std::to_string(VT_->getPrimitiveSizeInBits()));
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", helper));
  Value* x = helper->getArg(0);
  Value* result = llvm::PoisonValue::get(VT_);
  for (int lane = 0; lane < W_; ++lane) {
    Value* y = b.CreateCall(scalar, {b.CreateExtractElement(x, static_cast<uint64_t>(lane))});
    result = b.CreateInsertElement(result, y, static_cast<uint64_t>(lane));
  }
  b.CreateRet(result);
  return helper;
}

}  // namespace

int64_t lower_entry(const Program& program, const EntryPoint& entry, Precision precision, int width,
                    int row_lanes, const VectorMath& vector_math, llvm::Module& module) {
  internal_check(program.graph != nullptr, "llvm backend: program without a graph");
  internal_check(width >= 1, "llvm backend: vector width must be positive");
  FunctionLowering lowering(*program.graph, entry, precision, width, row_lanes, vector_math,
                            module);
  lowering.emit();
  return lowering.workspace_bytes();
}

}  // namespace nfc
