// The lowering of one entry point to LLVM IR, SIMD across samples: the
// FunctionLowering class, private to the LLVM backend (only the backend's
// .cpp files include this header).
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
// elements (kRegisterMax for elementwise ops and gathers; loops over it are
// unrolled by the emitter), otherwise in slots of
// one scratch alloca, planned by liveness (BufferPlan) and read and written
// by emitted loops; so IR size follows the number of nodes, not layer widths
// or weights. Consecutive long elementwise ops and gathers of one length
// share one loop (BufferPlan's fused loops), and a value used only inside
// it stays in a register for the iteration. Constants and parameters have no storage: element k of
// a parameter is a broadcast load of params[offset + k]. exp, log, tanh, ... call whole-vector
// variants (glibc's libmvec) when the JIT offers them.
//
// The members are defined by concern:
//   LlvmBackend.cpp      the entry point's signature, its block loop (emit), segments, lower_entry
//   FusedLoops.cpp       one loop over element k for a run of elementwise ops and gathers
//   Loops.cpp            emitted loops: unrolled or not, with carried values
//   NodeValues.cpp       where node values live, index tables, the input and output tiles
//   Elementwise.cpp      Ops.def's formulas on vectors, vector maths calls
//   MatrixKernels.cpp    matvec (register-blocked, staircase, row dots) and matvec_t
//   GatherScatter.cpp    gather, scatter, concat, sum
//   GradientKernels.cpp  mean_gradient: accumulations, staging, outer products
//   Solve.cpp            solve: safeguarded Newton-bisection on all lanes
//   SharedLoops.cpp      loop ops and matrix kernels as functions shared by every node of
//                        the same shape, their operands as pointers
//   MadeSequence.cpp     made_sequence: one loop over a MADE's positions
//   MadeAdjoint.cpp      made_adjoint: the same loop backwards (reverse mode)
#pragma once

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/analysis/BufferPlan.hpp"
#include "compiler/backend/llvm/LlvmBackend.hpp"

namespace nfc::llvm_lowering {

// Elementwise values and gathers longer than this are planned in memory
// (matvec outputs and the rest up to kUnrollMax stay in registers), so that
// a run of them becomes one fused loop instead of straight-line code per
// element; the loop keeps in registers those only it reads.
// Spline transformers are chains of hundreds of elementwise ops; at 8
// elements, unrolled, an 8-D MAF with spline layers took 3.5 s to compile,
// as a loop 1.0 s, and it runs as fast (W2 and W3 within noise).
constexpr int kRegisterMax = 2;
// A fused loop doing at most this many node-elements is unrolled: too
// little work per iteration to pay for a loop.
constexpr int64_t kFusedUnrollMax = 16;
// Entry points longer than about this many nodes are emitted in segments,
// one function each (FunctionLowering::emit_segment).
constexpr size_t kSegmentNodes = 400;

using llvm::Value;
using Values = std::vector<Value*>;  // loop-carried values, or a node's elements

class FunctionLowering {
 public:
  FunctionLowering(const Graph& g, const EntryPoint& entry, Precision precision,
                   const LoweringShape& shape, const VectorMath& vector_math, llvm::Module& m);
  void emit();
  int64_t workspace_bytes() const {
    return workspace_elements_ * (T_->getPrimitiveSizeInBits() / 8);
  }

 private:
  // IR helpers.
  Value* i64(int64_t v) { return B_.getInt64(static_cast<uint64_t>(v)); }
  Value* splat(Value* scalar) { return B_.CreateVectorSplat(static_cast<unsigned>(W_), scalar); }
  Value* splat_const(double v) { return llvm::ConstantFP::get(VT_, v); }
  Value* live(Value* v) { return B_.CreateSelect(mask_, v, splat_const(0)); }
  // <0, 1, ..., lanes - 1> as i64.
  Value* lane_indices(int lanes) {
    std::vector<llvm::Constant*> iota;
    for (int j = 0; j < lanes; ++j) iota.push_back(B_.getInt64(static_cast<uint64_t>(j)));
    return llvm::ConstantVector::get(iota);
  }

  // The entry point (LlvmBackend.cpp).
  void create_function();
  void begin_block(Value* base);
  void emit_node(NodeId id);
  void emit_nodes(size_t begin, size_t end);
  void emit_segment(size_t s, size_t end, Value* base);
  void emit_fused_loop(size_t begin, size_t end);
  bool heads_loop(NodeId id) const;
  void fused_iteration(size_t begin, size_t end, Value* k, const std::vector<Value*>& tables);
  void produce(NodeId id, Value* k, Value* v);
  Value* fused_element(NodeId id, Value* k, Value* table);

  // Loops (Loops.cpp).
  Values for_range(int64_t count, Values carried, int64_t unroll_max,
                   const std::function<Values(Value* k, const Values& carried)>& body);
  void for_each(int64_t count, const std::function<void(Value* k)>& body,
                int64_t unroll_max = kUnrollMax);
  void for_dynamic(Value* begin, Value* end, int64_t step,
                   const std::function<void(Value* k)>& body);
  Values for_dynamic_range(Value* begin, Value* end, Values carried,
                           const std::function<Values(Value* k, const Values& carried)>& body);
  // Row sums over columns [0, cols), from `init` (one value a row):
  // step(c, sums, first) adds column c's terms to sums[first, first + rows).
  // With split 2 each row keeps two partial sums, even and odd columns,
  // added at the end: independent FMA chains where the rows are too few. A
  // constant `cols` gives a loop unrolled when short.
  using ColumnStep = std::function<Values(Value* c, const Values& sums, size_t first)>;
  Values column_sums(Values init, Value* cols, int split, const ColumnStep& step);

  // Node values (NodeValues.cpp): element k of a node (k broadcasts for
  // length-1 nodes), and the definition of element k of a node being
  // evaluated.
  bool needs_buffer(NodeId id) const;
  bool addressable(NodeId id) const;
  Value* element(NodeId id, Value* k);
  void define(NodeId id, Value* k, Value* v);
  Value* index_table(const std::vector<int>& indices, const char* name);
  Value* table_entry(Value* table, Value* k);
  void emit_input(NodeId id);
  void emit_outputs();

  // Elementwise maths (Elementwise.cpp): an op's Ops.def formula built by
  // LlvmFormula (OpFormula.hpp), which reaches B_ and call_libm as a friend.
  friend struct LlvmFormula;
  void emit_elementwise(NodeId id);
  Value* lower_elementwise(Op op, Value* a, Value* b, Value* c);
  Value* unary_intrinsic(llvm::Intrinsic::ID id, Value* a) {
    return B_.CreateUnaryIntrinsic(id, a);
  }
  Value* call_libm(const std::string& name, Value* a);
  Value* call_vector(const VectorFunction& fn, Value* a);
  llvm::Function* lane_helper(const std::string& scalar_name);

  // Matrix-vector products (MatrixKernels.cpp).
  void emit_matvec(NodeId id);
  void emit_matvec_rows(NodeId id, Value* first_row, int count, Value* cols);
  bool row_dot_applies(NodeId id) const;
  void emit_matvec_row_dots(NodeId id);
  int emit_row_dot_groups(NodeId id, Value* weights, Value* v);
  void emit_row_dot_group_loop(NodeId id, Value* weights, Value* v, Value* out);
  Value* sum_lanes_of_each(Values v);
  void emit_staircase_matvec(NodeId id);
  void emit_matvec_t(NodeId id);
  void emit_matvec_t_cols(NodeId id, Value* first_col, int count, Value* first_row);

  // Moving and adding elements by index (GatherScatter.cpp).
  void emit_gather(NodeId id);
  void emit_scatter(NodeId id);
  void emit_concat(NodeId id);
  void emit_sum(NodeId id);

  // mean_gradient (GradientKernels.cpp).
  struct OuterArgs;  // nfc.outer's arguments, as seen inside it
  void check_gradient_entry() const;
  void begin_gradient();
  void finish_gradient(Value* loss);
  void plan_stages();
  void emit_accumulation(size_t index);
  void accumulate_value(size_t index, Value* dest);
  Value* mean_share(NodeId id, Value* k);
  void stage_outer(size_t index, Value* stage_a, Value* stage_b);
  void reduce_partial_sums();
  void transpose(Values& v);
  llvm::Function* define_helper(const std::string& name, const std::vector<llvm::Type*>& args,
                                unsigned noalias_pointers,
                                const std::function<void(llvm::Function*)>& body);
  llvm::Function* transpose_helper();
  llvm::Function* outer_helper();
  void outer_rows(const OuterArgs& args);
  void outer_block(const OuterArgs& args, Value* r0, Value* c0, int R, int C);

  // solve (Solve.cpp).
  struct SolveElement;  // one element of a solve: its target and context
  void emit_solve(NodeId id);
  std::unordered_map<NodeId, Value*> solve_evaluate(const SolveElement& e,
                                                    const std::vector<NodeId>& nodes, Value* xv);
  Value* solve_residual(const SolveElement& e, Value* xv);
  Values solve_loop(Values state, int budget, const std::function<Value*(const Values&)>& active,
                    const std::function<Values(const Values&, Value* mask)>& step);
  Values solve_bracket(const SolveElement& e);
  Values newton_step(const SolveElement& e, const Values& s, Value* active);

  // Loop ops and matrix kernels as shared functions (SharedLoops.cpp).
  struct Operand {  // an operand of a shared function, as a pointer
    Value* ptr = nullptr;
    bool scalar = false;  // T per element (a parameter), else <W x T> per element
  };
  Operand operand_pointer(NodeId id);
  Value* load(const Operand& o, Value* k);
  void store(Value* vectors, Value* k, Value* v);
  void call_shared_loop(const std::string& shape, const std::vector<NodeId>& outputs,
                        const std::vector<NodeId>& operands, const std::function<void()>& emit);
  bool emit_shared_matrix_kernel(NodeId id);
  std::string epilogue_shape(NodeId head, std::vector<NodeId>& outputs,
                             std::vector<NodeId>& operands);
  std::string step_shape(const std::vector<NodeId>& nodes,
                         const std::unordered_map<NodeId, std::string>& placeholders,
                         NodeId result) const;

  // made_sequence and made_adjoint (MadeSequence.cpp, MadeAdjoint.cpp).
  struct MadeTables {                      // the constant tables both loops read
    std::vector<Value*> starts, prefixes;  // per hidden layer, by degree (MadeSequence)
    Value* out_prefixes = nullptr;         // by position
  };
  MadeTables made_tables(const MadeSequence& s);
  void for_degree_rows(const MadeTables& t, size_t l, Value* k,
                       const std::function<void(Value* r0, int R)>& block);
  std::string made_shape(const MadeSequence& s) const;
  Value* load_slot(Value* buffer, Value* k);
  struct MadeLoop;  // a made_sequence's buffers and tables
  void emit_made_sequence(NodeId id);
  void made_loop(NodeId id);
  Values made_rows(const MadeLoop& made, size_t l, Value* r0, int R, Value* cols, int split);
  void made_hidden_layer(const MadeLoop& made, size_t l, Value* k);
  void made_outputs(const MadeLoop& made, Value* k);

  struct MadeSweep;  // a made_adjoint's buffers and tables
  void emit_made_adjoint(NodeId id);
  void made_sweep(NodeId id);
  void sweep_outputs(const MadeSweep& sweep, Value* k);
  void sweep_hidden_layer(const MadeSweep& sweep, size_t l, Value* k);
  void sweep_rows_back(const MadeSweep& sweep, size_t l, Value* r0, const Values& delta,
                       Value* cols);

  const Graph& g_;
  const EntryPoint& entry_;
  const Precision precision_;
  const int W_;
  const int row_lanes_;  // W_ = 1: lanes of the vectors a matrix row is read in (0: none)
  const int row_block_;  // LoweringShape::row_block
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
  Value* inv_n_ = nullptr;               // mean_gradient: 1 / n, folded into what accumulates
  std::vector<int64_t> partial_offset_;  // by accumulation: its first vector in partials_, or -1
  BufferPlan plan_;
  std::vector<Values> regs_;  // by NodeId: elements of register-held nodes
  // By NodeId: in the body of a fused loop (BufferPlan::loop_end), element k
  // of the loop's nodes evaluated so far in this iteration; null elsewhere.
  std::vector<Value*> fused_;
  // While a loop's head is emitted (FusedLoops.cpp): the positions of the
  // rest of its loop, which produce() runs on each element; else {0, 0}.
  struct Epilogue {
    size_t begin = 0, end = 0;
  } epilogue_;
  std::unordered_map<std::string, llvm::Function*> shared_loops_;  // by shape
  // Inside a shared function: nodes whose elements element() and define()
  // reach through the function's pointer arguments instead.
  std::unordered_map<NodeId, Operand> redirect_;
};

}  // namespace nfc::llvm_lowering
