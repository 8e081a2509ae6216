// Loop ops (made_sequence, made_adjoint) and matrix kernels (matvec,
// matvec_t) emitted as internal functions, one per shape, called by every
// node of that shape. A flow repeats its layers: 100 MAF layers are 100
// made_sequence nodes and 300 matvecs of a few shapes, and one function per
// shape instead of a copy per node is what keeps a deep stack's compile
// time in proportion to its graph rather than to its kernels.
#include <fmt/format.h>
#include <llvm/IR/Module.h>

#include <algorithm>

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

// Calls the function for `shape` on the buffers of `outputs` (the nodes it
// defines) and `operands`, defining it the first time: inside it, `emit` is
// the ordinary emitter, with those nodes redirected to the function's
// pointer arguments (element() and define() follow redirect_). `shape` must
// name everything that code depends on besides the operands' kinds and
// which of them are one node (both are added here): the function is reused
// for every call of the same shape. The code may read parameters through
// params_ (the function's own argument), never scratch_.
void FunctionLowering::call_shared_loop(const std::string& shape,
                                        const std::vector<NodeId>& outputs,
                                        const std::vector<NodeId>& operands,
                                        const std::function<void()>& emit) {
  Values args;
  for (NodeId o : outputs) {
    const int64_t slot = plan_.offset[static_cast<size_t>(o)];
    internal_check(slot >= 0, "shared loop: a node without slots");
    args.push_back(B_.CreateInBoundsGEP(VT_, scratch_, i64(slot)));
  }
  args.push_back(params_);
  const unsigned first_operand = static_cast<unsigned>(args.size());
  std::vector<Operand> pointers;
  std::vector<size_t> first;  // by operand: the first operand that is the same node
  std::string key = fmt::format("{} ->{}", shape, outputs.size());
  for (size_t i = 0; i < operands.size(); ++i) {
    first.push_back(
        size_t(std::find(operands.begin(), operands.end(), operands[i]) - operands.begin()));
    pointers.push_back(first[i] < i ? pointers[first[i]] : operand_pointer(operands[i]));
    args.push_back(pointers[i].ptr);
    key += fmt::format(" {}{}", pointers[i].scalar ? 's' : 'v', first[i]);
  }
  llvm::Function*& fn = shared_loops_[key];
  if (!fn) {
    auto* ptr = llvm::PointerType::getUnqual(ctx_);
    const std::string name = fmt::format("nfc.loop{}", shared_loops_.size() - 1);
    fn = define_helper(
        name, std::vector<llvm::Type*>(args.size(), ptr), static_cast<unsigned>(outputs.size()),
        [&](llvm::Function* helper) {
          Value* caller_params = params_;
          params_ = helper->getArg(first_operand - 1);
          for (size_t i = 0; i < outputs.size(); ++i)
            redirect_.emplace(outputs[i], Operand{helper->getArg(unsigned(i)), false});
          for (size_t i = 0; i < operands.size(); ++i)
            redirect_.emplace(operands[i], Operand{helper->getArg(first_operand + unsigned(i)),
                                                   pointers[i].scalar});
          emit();
          redirect_.clear();
          params_ = caller_params;
        });
  }
  B_.CreateCall(fn, args);
}

// A matvec or matvec_t into a buffer, from a parameter matrix, as a shared
// function: the layers of a repeat multiply matrices of the same shapes, and
// their kernels were half of a 100-layer stack's compile time. Not in the
// one-sample entry, whose row dots read parameters and slots in place
// (MatrixKernels.cpp). A matvec heading a fused loop brings the loop along
// (epilogue_): its values from outside (a bias, a constant's broadcast) are
// operands too, so that the layers of a repeat still share one function.
bool FunctionLowering::emit_shared_matrix_kernel(NodeId id) {
  const Node& n = g_.node(id);
  const bool stored = plan_.offset[static_cast<size_t>(id)] >= 0;
  if (W_ == 1 || (!stored && epilogue_.end == 0) || g_.node(n.args[0]).op != Op::param)
    return false;
  std::string shape = fmt::format("{} {}x{} {}+{} [{}] {}", op_spelling(n.op), n.rows, n.cols,
                                  n.offset, n.stride, fmt::join(n.indices, ","), g_.len(n.args[1]));
  std::vector<NodeId> outputs, operands = n.args;
  if (stored) outputs.push_back(id);
  if (epilogue_.end > 0) shape += epilogue_shape(id, outputs, operands);
  call_shared_loop(shape, outputs, operands, [&] {
    if (n.op == Op::matvec)
      emit_matvec(id);
    else
      emit_matvec_t(id);
  });
  return true;
}

// The loop a shared matvec heads, as text for its shape (step_shape): its
// nodes with code, the head as "h", and values from outside but constants
// as placeholders o<i> appended to `operands` (a broadcast read through
// its source, bo<i>), parameters included: the layers of a repeat differ
// in them. The codeless nodes the order placed inside the loop (a bias
// visited after the matvec, a constant) are left out of the node list, so
// they are named like any value from outside, constants by value. Which
// nodes are stored is appended to `outputs` and to the text.
std::string FunctionLowering::epilogue_shape(NodeId head, std::vector<NodeId>& outputs,
                                             std::vector<NodeId>& operands) {
  std::vector<NodeId> nodes;  // the loop's nodes with code
  for (size_t i = epilogue_.begin; i < epilogue_.end; ++i)
    if (!codeless(g_.node(plan_.order[i]).op)) nodes.push_back(plan_.order[i]);
  std::unordered_map<NodeId, std::string> placeholders{{head, "h"}};
  auto outside = [&](NodeId a) {
    const Node& an = g_.node(a);
    if (an.op == Op::constant || placeholders.count(a) ||
        std::find(nodes.begin(), nodes.end(), a) != nodes.end())
      return;  // step_shape names a constant by its value
    const NodeId source = an.op == Op::broadcast ? an.args[0] : a;
    const auto at = std::find(operands.begin(), operands.end(), source);
    placeholders[a] =
        fmt::format("{}o{}", an.op == Op::broadcast ? "b" : "", at - operands.begin());
    if (at == operands.end()) operands.push_back(source);
  };
  std::string stored = " stored";
  for (NodeId j : nodes) {
    for (NodeId a : g_.node(j).args) outside(a);
    if (plan_.offset[static_cast<size_t>(j)] >= 0) {
      outputs.push_back(j);
      stored += fmt::format(" {}", outputs.size() - 1);
    }
  }
  return " | " + step_shape(nodes, placeholders, nodes.back()) + stored;
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
