// Elementwise ops on <W x T> vectors: Ops.def's formulas instantiated for
// LLVM IR (LlvmFormula), and the maths library calls they make (vector
// variants where the JIT has them, else one scalar call per lane).
#include <llvm/IR/Module.h>

#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "compiler/ir/OpFormula.hpp"
#include "support/InternalError.hpp"

namespace nfc::llvm_lowering {

void FunctionLowering::emit_elementwise(NodeId id) {
  const Node& n = g_.node(id);
  for_each(n.len, [&](Value* k) {
    Value* a = element(n.args[0], k);
    Value* b = n.args.size() > 1 ? element(n.args[1], k) : nullptr;
    Value* c = n.args.size() > 2 ? element(n.args[2], k) : nullptr;
    define(id, k, lower_elementwise(n.op, a, b, c));
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
  friend LlvmFormula sin(const LlvmFormula& a) { return a.libm("sin"); }
  friend LlvmFormula cos(const LlvmFormula& a) { return a.libm("cos"); }
  friend LlvmFormula erf(const LlvmFormula& a) { return a.libm("erf"); }
  friend LlvmFormula erfc(const LlvmFormula& a) { return a.libm("erfc"); }
  friend LlvmFormula atan(const LlvmFormula& a) { return a.libm("atan"); }
  friend LlvmFormula asin(const LlvmFormula& a) { return a.libm("asin"); }
  friend LlvmFormula acos(const LlvmFormula& a) { return a.libm("acos"); }
  friend LlvmFormula acosh(const LlvmFormula& a) { return a.libm("acosh"); }
  friend LlvmFormula cbrt(const LlvmFormula& a) { return a.libm("cbrt"); }
  // compiler/ir/Erfinv.hpp, registered with the JIT (Jit.cpp).
  friend LlvmFormula erfinv(const LlvmFormula& a) { return a.libm("nfc_erfinv"); }
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

}  // namespace nfc::llvm_lowering
