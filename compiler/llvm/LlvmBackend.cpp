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
// parameter is a broadcast load of params[offset + k].
#include "compiler/llvm/LlvmBackend.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <cmath>
#include <functional>
#include <string>

#include "compiler/BufferPlan.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {
namespace {

using llvm::Value;
using Values = std::vector<Value*>;  // loop-carried values, or a node's elements

// Nodes longer than this are evaluated by emitted loops over their elements;
// shorter ones are unrolled, so small flows become straight-line code.
constexpr int kUnrollMax = 8;
// Rows of a matvec computed together: each vector element loaded feeds this
// many independent FMA chains (register blocking), enough to hide FMA latency.
constexpr int kRowBlock = 8;

class FunctionLowering {
 public:
  FunctionLowering(const Graph& g, const EntryPoint& entry, Precision precision, int width,
                   llvm::Module& m);
  void emit();

 private:
  // IR helpers.
  Value* i64(int64_t v) { return B_.getInt64(static_cast<uint64_t>(v)); }
  Value* splat(Value* scalar) { return B_.CreateVectorSplat(static_cast<unsigned>(W_), scalar); }
  Value* splat_const(double v) { return llvm::ConstantFP::get(VT_, v); }
  Values for_range(int64_t count, Values carried, int64_t unroll_max,
                   const std::function<Values(Value* k, const Values& carried)>& body);
  void for_each(int64_t count, const std::function<void(Value* k)>& body,
                int64_t unroll_max = kUnrollMax);

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
  void emit_matvec_rows(NodeId id, Value* first_row, int count);
  void emit_gather(NodeId id);
  void emit_concat(NodeId id);
  void emit_sum(NodeId id);
  Value* lower_elementwise(Op op, Value* a, Value* b, Value* c);
  Value* unary_intrinsic(llvm::Intrinsic::ID id, Value* a) {
    return B_.CreateUnaryIntrinsic(id, a);
  }
  Value* call_libm(const std::string& name, Value* a);
  llvm::Function* lane_helper(const std::string& scalar_name);

  const Graph& g_;
  const EntryPoint& entry_;
  const Precision precision_;
  const int W_;
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
  BufferPlan plan_;
  std::vector<Values> regs_;  // by NodeId: elements of register-held nodes
};

FunctionLowering::FunctionLowering(const Graph& g, const EntryPoint& entry, Precision precision,
                                   int width, llvm::Module& m)
    : g_(g),
      entry_(entry),
      precision_(precision),
      W_(width),
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
  llvm::BasicBlock* pre = B_.GetInsertBlock();
  auto* loop = llvm::BasicBlock::Create(ctx_, "loop", F_);
  B_.CreateBr(loop);
  B_.SetInsertPoint(loop);
  llvm::PHINode* k = B_.CreatePHI(B_.getInt64Ty(), 2, "k");
  k->addIncoming(i64(0), pre);
  Values phis;
  for (Value* c : carried) {
    phis.push_back(B_.CreatePHI(c->getType(), 2));
    llvm::cast<llvm::PHINode>(phis.back())->addIncoming(c, pre);
  }
  Values next = body(k, phis);
  Value* k_next = B_.CreateNSWAdd(k, i64(1));
  llvm::BasicBlock* latch = B_.GetInsertBlock();
  auto* done = llvm::BasicBlock::Create(ctx_, "loop.end", F_);
  B_.CreateCondBr(B_.CreateICmpSLT(k_next, i64(count)), loop, done);
  k->addIncoming(k_next, latch);
  for (size_t i = 0; i < phis.size(); ++i)
    llvm::cast<llvm::PHINode>(phis[i])->addIncoming(next[i], latch);
  B_.SetInsertPoint(done);
  return next;
}

void FunctionLowering::for_each(int64_t count, const std::function<void(Value* k)>& body,
                                int64_t unroll_max) {
  for_range(count, {}, unroll_max, [&](Value* k, const Values& carried) {
    body(k);
    return carried;
  });
}

bool FunctionLowering::needs_buffer(NodeId id) const {
  const Op op = g_.node(id).op;
  return op != Op::constant && op != Op::param && g_.len(id) > kUnrollMax;
}

// Whether element(id, k) accepts a k computed at run time.
bool FunctionLowering::addressable(NodeId id) const {
  const Op op = g_.node(id).op;
  return op == Op::constant || op == Op::param || plan_.offset[static_cast<size_t>(id)] >= 0;
}

Value* FunctionLowering::element(NodeId id, Value* k) {
  const Node& n = g_.node(id);
  if (n.len == 1) k = i64(0);
  if (n.op == Op::constant) return splat_const(n.value);
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

// void NAME(const T* params, const T* in, T* out_0, ..., T* out_k, int64_t n)
void FunctionLowering::create_function() {
  internal_check(m_.getFunction(entry_.name) == nullptr, "llvm backend: duplicate entry name");
  auto* ptr = llvm::PointerType::getUnqual(ctx_);
  std::vector<llvm::Type*> args(2 + entry_.outputs.size(), ptr);
  args.push_back(B_.getInt64Ty());
  auto* type = llvm::FunctionType::get(B_.getVoidTy(), args, false);
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
  for (unsigned i = 0; i < entry_.outputs.size(); ++i) outs_.push_back(F_->getArg(2 + i));
  n_ = F_->getArg(static_cast<unsigned>(2 + entry_.outputs.size()));
}

void FunctionLowering::emit() {
  create_function();
  plan_ = plan_buffers(g_, entry_, [this](NodeId id) { return needs_buffer(id); });
  regs_.assign(g_.size(), {});

  auto* entry = llvm::BasicBlock::Create(ctx_, "entry", F_);
  auto* block = llvm::BasicBlock::Create(ctx_, "block", F_);
  auto* exit = llvm::BasicBlock::Create(ctx_, "exit", F_);
  B_.SetInsertPoint(entry);
  if (plan_.slots > 0) scratch_ = B_.CreateAlloca(VT_, i64(plan_.slots), "scratch");
  B_.CreateCondBr(B_.CreateICmpSGT(n_, i64(0)), block, exit);

  B_.SetInsertPoint(block);
  llvm::PHINode* base = B_.CreatePHI(B_.getInt64Ty(), 2, "base");
  base->addIncoming(i64(0), entry);
  std::vector<llvm::Constant*> iota;
  for (int j = 0; j < W_; ++j) iota.push_back(B_.getInt64(static_cast<uint64_t>(j)));
  lanes_ = B_.CreateAdd(splat(base), llvm::ConstantVector::get(iota), "lanes");
  mask_ = B_.CreateICmpSLT(lanes_, splat(n_), "live");

  for (NodeId id : plan_.order) emit_node(id);
  emit_outputs();

  Value* next = B_.CreateNSWAdd(base, i64(W_));
  base->addIncoming(next, B_.GetInsertBlock());
  B_.CreateCondBr(B_.CreateICmpSLT(next, n_), block, exit);
  B_.SetInsertPoint(exit);
  B_.CreateRetVoid();
}

// No `default:`: a new op in Ops.def must be taught here.
void FunctionLowering::emit_node(NodeId id) {
  switch (g_.node(id).op) {
#define NFC_UNARY(o, spelling, expr) case Op::o:
#define NFC_BINARY(o, spelling, expr) case Op::o:
#define NFC_TERNARY(o, spelling, expr) case Op::o:
#include "compiler/Ops.def"
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

// out[r] = sum_c M[r * cols + c] * v[c], accumulated in column order like the
// interpreter, kRowBlock rows at a time.
void FunctionLowering::emit_matvec(NodeId id) {
  const Node& n = g_.node(id);
  if (n.rows <= kUnrollMax) return emit_matvec_rows(id, i64(0), n.rows);
  const int blocks = n.rows / kRowBlock, rest = n.rows % kRowBlock;
  // Row blocks stay a loop: each block is already kRowBlock accumulators
  // wide, and unrolling blocks only multiplies IR (and compile time).
  for_each(
      blocks, [&](Value* b) { emit_matvec_rows(id, B_.CreateMul(b, i64(kRowBlock)), kRowBlock); },
      1);
  if (rest > 0) emit_matvec_rows(id, i64(int64_t{blocks} * kRowBlock), rest);
}

void FunctionLowering::emit_matvec_rows(NodeId id, Value* first_row, int count) {
  const Node& n = g_.node(id);
  const NodeId matrix = n.args[0], v = n.args[1];
  Values row_start;
  for (int i = 0; i < count; ++i)
    row_start.push_back(B_.CreateMul(B_.CreateAdd(first_row, i64(i)), i64(n.cols)));
  Values zeros(static_cast<size_t>(count), splat_const(0));
  Values acc = for_range(n.cols, zeros, kUnrollMax, [&](Value* c, const Values& acc) {
    Value* vc = element(v, c);
    Values next;
    for (int i = 0; i < count; ++i) {
      Value* m = element(matrix, B_.CreateAdd(row_start[static_cast<size_t>(i)], c));
      next.push_back(B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                        {m, vc, acc[static_cast<size_t>(i)]}));
    }
    return next;
  });
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
  std::vector<uint32_t> indices(n.indices.begin(), n.indices.end());
  auto* init = llvm::ConstantDataArray::get(ctx_, indices);
  auto* table = new llvm::GlobalVariable(m_, init->getType(), true,
                                         llvm::GlobalValue::PrivateLinkage, init, "gather");
  for_each(n.len, [&](Value* k) {
    Value* at = B_.CreateGEP(init->getType(), table, {i64(0), k});
    Value* index = B_.CreateZExt(B_.CreateLoad(B_.getInt32Ty(), at), B_.getInt64Ty());
    define(id, k, element(src, index));
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

// The formulas of Ops.def, operation for operation, so results differ from
// the interpreter's only by the rounding of T and of libm vs intrinsics.
// No `default:`: a new op in Ops.def must be taught here.
Value* FunctionLowering::lower_elementwise(Op op, Value* a, Value* b, Value* c) {
  namespace I = llvm::Intrinsic;
  Value* zero = splat_const(0);
  Value* one = splat_const(1);
  switch (op) {
    case Op::neg:
      return B_.CreateFNeg(a);
    case Op::exp:
      return unary_intrinsic(I::exp, a);
    case Op::log:
      return unary_intrinsic(I::log, a);
    case Op::log1p:
      return call_libm("log1p", a);
    case Op::expm1:
      return call_libm("expm1", a);
    case Op::sqrt:
      return unary_intrinsic(I::sqrt, a);
    case Op::abs:
      return unary_intrinsic(I::fabs, a);
    case Op::tanh:
      return call_libm("tanh", a);
    case Op::atanh:
      return call_libm("atanh", a);
    case Op::sinh:
      return call_libm("sinh", a);
    case Op::cosh:
      return call_libm("cosh", a);
    case Op::asinh:
      return call_libm("asinh", a);
    case Op::sigmoid:  // 1 / (1 + exp(-a))
      return B_.CreateFDiv(one, B_.CreateFAdd(one, unary_intrinsic(I::exp, B_.CreateFNeg(a))));
    case Op::logit:  // log(a) - log1p(-a)
      return B_.CreateFSub(unary_intrinsic(I::log, a), call_libm("log1p", B_.CreateFNeg(a)));
    case Op::softplus: {  // max(a, 0) + log1p(exp(-|a|)); std::max(a, 0) is a < 0 ? 0 : a
      Value* max = B_.CreateSelect(B_.CreateFCmpOLT(a, zero), zero, a);
      Value* e = unary_intrinsic(I::exp, B_.CreateFNeg(unary_intrinsic(I::fabs, a)));
      return B_.CreateFAdd(max, call_libm("log1p", e));
    }
    case Op::erf:
      return call_libm("erf", a);
    case Op::relu:
      return B_.CreateSelect(B_.CreateFCmpOGT(a, zero), a, zero);
    case Op::elu:
      return B_.CreateSelect(B_.CreateFCmpOGT(a, zero), a, call_libm("expm1", a));
    case Op::gelu: {  // 0.5 * a * (1 + erf(a * sqrt(1/2)))
      Value* erf = call_libm("erf", B_.CreateFMul(a, splat_const(M_SQRT1_2)));
      return B_.CreateFMul(B_.CreateFMul(splat_const(0.5), a), B_.CreateFAdd(one, erf));
    }
    case Op::add:
      return B_.CreateFAdd(a, b);
    case Op::sub:
      return B_.CreateFSub(a, b);
    case Op::mul:
      return B_.CreateFMul(a, b);
    case Op::div:
      return B_.CreateFDiv(a, b);
    case Op::pow:
      return B_.CreateBinaryIntrinsic(I::pow, a, b);
    case Op::select_pos:
      return B_.CreateSelect(B_.CreateFCmpOGT(a, zero), b, c);
    case Op::constant:
    case Op::input:
    case Op::var:
    case Op::param:
    case Op::matvec:
    case Op::gather:
    case Op::concat:
    case Op::sum:
      break;
  }
  throw InternalError("llvm backend: lower_elementwise on a structural op");
}

// libm has no vector form of these in LLVM: call the scalar function on each
// lane, through one helper per function (keeps the IR of the callers small).
Value* FunctionLowering::call_libm(const std::string& name, Value* a) {
  const std::string scalar = precision_ == Precision::f32 ? name + "f" : name;
  return B_.CreateCall(lane_helper(scalar), {a});
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

void lower_program(const Program& program, Precision precision, int width, llvm::Module& module) {
  internal_check(program.graph != nullptr, "llvm backend: program without a graph");
  internal_check(width >= 1, "llvm backend: vector width must be positive");
  for (const EntryPoint& entry : program.entries)
    FunctionLowering(*program.graph, entry, precision, width, module).emit();
}

}  // namespace nfc
