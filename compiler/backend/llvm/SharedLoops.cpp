// Loop ops (made_sequence, made_adjoint) and matrix kernels (matvec,
// matvec_t) emitted as internal functions, one per shape, called by every
// node of that shape. A flow repeats its layers: 100 MAF layers are 100
// made_sequence nodes and 300 matvecs of a few shapes, and one function per
// shape instead of a copy per node is what keeps a deep stack's compile
// time in proportion to its graph rather than to its kernels.
#include <fmt/format.h>
#include <llvm/IR/Module.h>

#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "support/InternalError.hpp"

namespace nfc::llvm_lowering {

// Parameters are read in place (one scalar per element, splat on load),
// values in buffer slots in place; anything else (registers, a broadcast,
// a constant) is copied to the stack first.
FunctionLowering::Operand FunctionLowering::operand_pointer(NodeId id) {
  const Node& n = g_.node(id);
  if (n.op == Op::param) {
    const int64_t offset = g_.params().at(static_cast<size_t>(n.index)).offset;
    return {B_.CreateGEP(T_, params_, i64(offset)), true};
  }
  const int64_t slot = plan_.offset[static_cast<size_t>(id)];
  if (slot >= 0) return {B_.CreateInBoundsGEP(VT_, scratch_, i64(slot)), false};
  Value* copy = nullptr;
  {
    llvm::IRBuilder<> entry(&F_->getEntryBlock(), F_->getEntryBlock().begin());
    copy = entry.CreateAlloca(VT_, i64(n.len), "operand");
  }
  for (int k = 0; k < n.len; ++k)
    B_.CreateStore(element(id, i64(k)), B_.CreateGEP(VT_, copy, i64(k)));
  return {copy, false};
}

Value* FunctionLowering::load(const Operand& o, Value* k) {
  if (o.scalar) return splat(B_.CreateLoad(T_, B_.CreateGEP(T_, o.ptr, k)));
  return B_.CreateLoad(VT_, B_.CreateGEP(VT_, o.ptr, k));
}

void FunctionLowering::store(Value* vectors, Value* k, Value* v) {
  B_.CreateStore(v, B_.CreateGEP(VT_, vectors, k));
}

// Calls the function for `shape` on node `id`'s buffer and `operands`,
// defining it with `body` the first time: body(out, operands) emits the
// loop reading the operands through load() and writing out[k]. `shape`
// must name everything the body's code depends on (the function is reused
// for every node with the same shape); the body may read the parameters
// through params_ (the function's own argument), never scratch_.
void FunctionLowering::call_shared_loop(
    const std::string& shape, NodeId id, const std::vector<NodeId>& operands,
    const std::function<void(Value* out, const std::vector<Operand>&)>& body) {
  internal_check(plan_.offset[static_cast<size_t>(id)] >= 0, "shared loop: a node without slots");
  Values args = {B_.CreateInBoundsGEP(VT_, scratch_, i64(plan_.offset[static_cast<size_t>(id)])),
                 params_};
  std::vector<Operand> pointers;
  std::string key = shape;
  for (NodeId a : operands) {
    pointers.push_back(operand_pointer(a));
    args.push_back(pointers.back().ptr);
    key += pointers.back().scalar ? " s" : " v";
  }
  llvm::Function*& fn = shared_loops_[key];
  if (!fn) {
    auto* ptr = llvm::PointerType::getUnqual(ctx_);
    const std::string name = fmt::format("nfc.loop{}", shared_loops_.size() - 1);
    fn = define_helper(name, std::vector<llvm::Type*>(args.size(), ptr), 1,
                       [&](llvm::Function* helper) {
                         Value* caller_params = params_;
                         params_ = helper->getArg(1);
                         std::vector<Operand> inside;
                         for (size_t i = 0; i < pointers.size(); ++i)
                           inside.push_back({helper->getArg(unsigned(2 + i)), pointers[i].scalar});
                         body(helper->getArg(0), inside);
                         params_ = caller_params;
                       });
  }
  B_.CreateCall(fn, args);
}

// A matvec or matvec_t into a buffer, from a parameter matrix, as a shared
// function: the layers of a repeat multiply matrices of the same shapes, and
// their kernels were half of a 100-layer stack's compile time. Inside the
// function the ordinary kernel is emitted, the node, its matrix and its
// vector redirected to the pointer arguments. Not in the one-sample entry,
// whose row dots read parameters and slots in place (MatrixKernels.cpp).
bool FunctionLowering::emit_shared_matrix_kernel(NodeId id) {
  const Node& n = g_.node(id);
  const NodeId matrix = n.args[0], v = n.args[1];
  if (W_ == 1 || plan_.offset[static_cast<size_t>(id)] < 0 || g_.node(matrix).op != Op::param)
    return false;
  const std::string shape = fmt::format("{} {}x{} {}+{} [{}] {}", op_spelling(n.op), n.rows, n.cols,
                                        n.offset, n.stride, fmt::join(n.indices, ","), g_.len(v));
  call_shared_loop(shape, id, {matrix, v}, [&](Value* out, const std::vector<Operand>& operands) {
    redirect_ = {{id, {out, false}}, {matrix, operands[0]}, {v, operands[1]}};
    if (n.op == Op::matvec)
      emit_matvec(id);
    else
      emit_matvec_t(id);
    redirect_.clear();
  });
  return true;
}

// The elementwise nodes of a loop body and its result as text, each
// operand a placeholder's name, an earlier node of the list, a constant's
// value or a parameter's offset: equal text, equal code.
std::string FunctionLowering::step_shape(
    const std::vector<NodeId>& nodes, const std::unordered_map<NodeId, std::string>& placeholders,
    NodeId result) const {
  std::unordered_map<NodeId, size_t> local;
  auto name = [&](NodeId a) {
    const Node& an = g_.node(a);
    if (auto p = placeholders.find(a); p != placeholders.end()) return p->second;
    if (auto l = local.find(a); l != local.end()) return fmt::format("n{}", l->second);
    if (an.op == Op::constant) return fmt::format("c{:a}", an.value);
    if (an.op == Op::param)
      return fmt::format("p{}:{}", g_.params().at(static_cast<size_t>(an.index)).offset, an.len);
    throw InternalError("shared loop: a body reads a value from outside it");
  };
  std::string text;
  for (NodeId j : nodes) {
    const Node& n = g_.node(j);
    text += fmt::format("{}:{}(", static_cast<int>(n.op), n.len);
    for (NodeId a : n.args) text += name(a) + ",";
    text += ") ";
    local.emplace(j, local.size());
  }
  return text + "-> " + name(result);
}

}  // namespace nfc::llvm_lowering
