// The LLVM backend's entry: lower_entry, and the parts of FunctionLowering
// that make an entry point's function: its signature and the loop over
// blocks of samples that evaluates the nodes. How values are lowered and
// where each concern lives: FunctionLowering.hpp.
#include "compiler/backend/llvm/LlvmBackend.hpp"

#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>

#include <string>
#include <tuple>

#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "compiler/backend/llvm/Segments.hpp"
#include "support/InternalError.hpp"

namespace nfc::llvm_lowering {

FunctionLowering::FunctionLowering(const Graph& g, const EntryPoint& entry, Precision precision,
                                   const LoweringShape& shape, const VectorMath& vector_math,
                                   llvm::Module& m)
    : g_(g),
      entry_(entry),
      precision_(precision),
      W_(shape.width),
      row_lanes_(shape.row_lanes),
      row_block_(shape.row_block),
      vector_math_(vector_math),
      m_(m),
      ctx_(m.getContext()),
      B_(m.getContext()),
      T_(precision == Precision::f32 ? llvm::Type::getFloatTy(ctx_)
                                     : llvm::Type::getDoubleTy(ctx_)),
      VT_(llvm::FixedVectorType::get(T_, static_cast<unsigned>(shape.width))) {}

// The signatures of abi/EntryPoints.hpp:
//   map:           void NAME(const T* params, const T* in, T* out_0, ..., T* out_k, int64_t n)
//   mean_gradient: T NAME(const T* params, const T* in, int64_t n, T* grad, void* work)
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

// Both kinds walk the batch in blocks of W samples. A mean_gradient entry
// point zeroes `grad` and adds each block's live lanes of every accumulation
// over n into it (as soon as the accumulation's operands are evaluated, so
// they need not stay live): it ends as the mean. The loss is carried
// across blocks as a vector of per-lane sums.
void FunctionLowering::emit() {
  const bool gradient = entry_.kind == EntryKind::mean_gradient;
  if (gradient) check_gradient_entry();
  internal_check(gradient || entry_.accumulations.empty(),
                 "llvm backend: accumulations on a map entry point");
  create_function();
  plan_ =
      plan_buffers(g_, entry_, [this](NodeId id) { return needs_buffer(id); },
                   {.fuse = true, .segment_nodes = kSegmentNodes, .heads_loop = [this](NodeId id) {
                      return heads_loop(id);
                    }});
  regs_.assign(g_.size(), {});
  fused_.assign(g_.size(), nullptr);

  auto* entry = llvm::BasicBlock::Create(ctx_, "entry", F_);
  auto* block = llvm::BasicBlock::Create(ctx_, "block", F_);
  auto* exit = llvm::BasicBlock::Create(ctx_, "exit", F_);
  B_.SetInsertPoint(entry);
  if (plan_.slots > 0) {
    // Every node buffer is a GEP into this one alloca: thousands of users
    // in a large program. InstCombine revisits an alloca whenever one of its
    // users changes and walks all of them (is it only copied from constant
    // memory?): quadratic, 60% of O2 for a 30-D NSF's nll_grad (17.7 s of
    // InstCombine on its own, 0.38 s through the launder). The launder is
    // the alloca's only user; alias analysis sees through it
    // (getUnderlyingObject), and every access says `inbounds` itself
    // (InstCombine inferred it from the alloca before).
    llvm::Value* raw = B_.CreateAlloca(VT_, i64(plan_.slots), "scratch.raw");
    scratch_ = B_.CreateLaunderInvariantGroup(raw);
    scratch_->setName("scratch");
  }
  if (gradient) begin_gradient();
  B_.CreateCondBr(B_.CreateICmpSGT(n_, i64(0)), block, exit);

  B_.SetInsertPoint(block);
  llvm::PHINode* base = B_.CreatePHI(B_.getInt64Ty(), 2, "base");
  base->addIncoming(i64(0), entry);
  llvm::PHINode* loss = nullptr;
  if (gradient) {
    loss = B_.CreatePHI(VT_, 2, "loss");
    loss->addIncoming(splat_const(0), entry);
  }
  begin_block(base);
  const std::vector<size_t>& starts = plan_.segment_start;
  for (size_t s = 0; s < starts.size(); ++s) {
    const size_t end = s + 1 < starts.size() ? starts[s + 1] : plan_.order.size();
    if (starts.size() == 1)
      emit_nodes(starts[s], end);
    else
      emit_segment(s, end, base);
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
  B_.SetInsertPoint(finish);
  finish_gradient(loss_next);

  B_.SetInsertPoint(exit);  // n <= 0: grad is zeroed
  B_.CreateRet(llvm::ConstantFP::get(T_, 0.0));
}

// Positions [begin, end) of the order: nodes, fused loops, and the
// accumulations that become ready among them.
void FunctionLowering::emit_nodes(size_t begin, size_t end) {
  for (size_t i = begin; i < end;) {
    const size_t next = plan_.loop_end[i] > 0 ? plan_.loop_end[i] : i + 1;
    if (plan_.loop_end[i] > 0)
      emit_fused_loop(i, next);
    else
      emit_node(plan_.order[i]);
    for (; i < next; ++i)
      for (size_t a : plan_.accumulate_after[i]) emit_accumulation(a);
  }
}

// Segment s of a large entry point (BufferPlan::segment_start) as a function
// of its own, called once per block: O2 and code generation cost more than
// linearly in a function's size (a 100-layer coupling stack's nll_grad in
// one function: 4.7 s of O2; GVN, LICM, IndVarSimplify 7-10x for 3.3x the
// code). It takes what the block's code uses (the entry's arguments, the
// block's first sample, the scratch, the gradient's workspace and partial
// sums) and recomputes the block's lanes; values it passes on are in
// scratch, so no register crosses.
void FunctionLowering::emit_segment(size_t s, size_t end, Value* base) {
  auto* ptr = llvm::PointerType::getUnqual(ctx_);
  auto* null = llvm::ConstantPointerNull::get(ptr);
  auto or_null = [&](Value* v) { return v ? v : null; };
  Values args = {params_, in_};
  args.insert(args.end(), outs_.begin(), outs_.end());
  args.insert(args.end(), {n_, base, or_null(scratch_), or_null(grad_), or_null(workspace_),
                           or_null(partials_)});
  std::vector<llvm::Type*> types;
  for (Value* a : args) types.push_back(a->getType());
  auto* fn =
      llvm::Function::Create(llvm::FunctionType::get(B_.getVoidTy(), types, false),
                             llvm::Function::InternalLinkage, segment_name(entry_.name, s), m_);
  fn->setDoesNotThrow();
  fn->addFnAttr(llvm::Attribute::NoInline);  // else the inliner undoes the split
  fn->addFnAttr("min-legal-vector-width", std::to_string(VT_->getPrimitiveSizeInBits()));

  const llvm::IRBuilderBase::InsertPoint caller_ip = B_.saveIP();
  // What the function being emitted binds: saved, rebound to fn, restored.
  auto bound = [this] {
    return std::tie(F_, params_, in_, outs_, n_, lanes_, mask_, scratch_, grad_, workspace_,
                    partials_, stage_lane_, flush_, inv_n_);
  };
  const auto saved = std::apply([](auto&... v) { return std::make_tuple(v...); }, bound());
  F_ = fn;
  unsigned a = 0;
  params_ = fn->getArg(a++);
  in_ = fn->getArg(a++);
  for (Value*& o : outs_) o = fn->getArg(a++);
  n_ = fn->getArg(a++);
  Value* segment_base = fn->getArg(a++);
  auto rebind = [&](Value*& member) {
    Value* arg = fn->getArg(a++);
    if (member) member = arg;
  };
  for (Value** member : {&scratch_, &grad_, &workspace_, &partials_}) rebind(*member);
  B_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
  begin_block(segment_base);
  emit_nodes(plan_.segment_start[s], end);
  B_.CreateRetVoid();
  // The segment's register values are its own: nothing after it may read them.
  for (Values& elems : regs_) elems.clear();

  bound() = saved;
  B_.restoreIP(caller_ip);
  B_.CreateCall(fn, args);
}

// The block starting at sample `base`: its lanes and which of them are
// live; for a gradient, where the block sits in its group of staged blocks.
void FunctionLowering::begin_block(Value* base) {
  lanes_ = B_.CreateAdd(splat(base), lane_indices(W_), "lanes");
  mask_ = B_.CreateICmpSLT(lanes_, splat(n_), "live");
  if (entry_.kind != EntryKind::mean_gradient) return;
  Value* in_group = B_.CreateURem(B_.CreateUDiv(base, i64(W_)), i64(stage_blocks_));
  stage_lane_ = B_.CreateMul(in_group, i64(W_), "stage.lane");
  flush_ = B_.CreateOr(B_.CreateICmpEQ(in_group, i64(stage_blocks_ - 1)),
                       B_.CreateICmpSGE(B_.CreateNSWAdd(base, i64(W_)), n_), "flush");
  // The mean's 1 / n multiplies every contribution as it is staged (a row
  // of an outer product's a, a value accumulation's lanes) rather than the
  // whole gradient at the end: that pass read and wrote every parameter's
  // gradient once more per call (48 MB for a 784-D MAF). A division per
  // block (hoisted out of the loop but in segments).
  inv_n_ = B_.CreateFDiv(llvm::ConstantFP::get(T_, 1.0), B_.CreateSIToFP(n_, T_), "inv_n");
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
      if (emit_shared_matrix_kernel(id)) return;
      return emit_matvec(id);
    case Op::gather:
      return emit_gather(id);
    case Op::concat:
      return emit_concat(id);
    case Op::sum:
      return emit_sum(id);
    case Op::matvec_t:
      if (emit_shared_matrix_kernel(id)) return;
      return emit_matvec_t(id);
    case Op::scatter:
      return emit_scatter(id);
    case Op::broadcast:
      return;  // a view: element() reads its operand
    case Op::solve:
      return emit_solve(id);
    case Op::made_sequence:
      return emit_made_sequence(id);
    case Op::made_adjoint:
      return emit_made_adjoint(id);
  }
}

}  // namespace nfc::llvm_lowering

namespace nfc {

int64_t lower_entry(const Program& program, const EntryPoint& entry, Precision precision,
                    const LoweringShape& shape, const VectorMath& vector_math,
                    llvm::Module& module) {
  internal_check(program.graph != nullptr, "llvm backend: program without a graph");
  internal_check(shape.width >= 1 && shape.row_block >= 1,
                 "llvm backend: vector width and row block must be positive");
  llvm_lowering::FunctionLowering lowering(*program.graph, entry, precision, shape, vector_math,
                                           module);
  lowering.emit();
  return lowering.workspace_bytes();
}

}  // namespace nfc
