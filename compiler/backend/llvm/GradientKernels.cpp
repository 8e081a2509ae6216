// mean_gradient entry points: the gradient zeroed, each accumulation's live
// lanes over n added into it per block (value accumulations as per-lane
// partial sums, outer products staged for several blocks and added by a
// register-blocked kernel), so that it ends as the mean.
#include <llvm/IR/Module.h>

#include <algorithm>
#include <tuple>

#include "compiler/backend/llvm/FunctionLowering.hpp"
#include "support/InternalError.hpp"

namespace nfc::llvm_lowering {
namespace {

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

}  // namespace

// nfc.outer's arguments, inside it (see outer_helper).
struct FunctionLowering::OuterArgs {
  Value* G = nullptr;
  Value* A = nullptr;
  Value* BT = nullptr;
  Value* rows = nullptr;
  Value* stride = nullptr;
  Value* bt_cols = nullptr;
  Value* lengths = nullptr;
  Value* lanes = nullptr;
  Value* a_stride = nullptr;
};

// What the lowering of a mean_gradient relies on: one scalar output (the
// loss), accumulations inside the gradient.
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

// The entry block of a mean_gradient: grad zeroed, the staging planned,
// the partial sums of the value accumulations allocated and zeroed.
void FunctionLowering::begin_gradient() {
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

// After the last block: the value accumulations' partial sums into grad,
// and the mean of `loss` (per-lane sums) returned.
void FunctionLowering::finish_gradient(Value* loss) {
  reduce_partial_sums();
  llvm::CallInst* total = B_.CreateFAddReduce(llvm::ConstantFP::get(T_, 0.0), loss);
  total->setHasAllowReassoc(true);
  B_.CreateRet(B_.CreateFMul(total, inv_n_));
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

// The live lanes of one block, summed into grad.
//   value: grad[offset + k] += sum_lanes value[k]
//   outer: grad[offset + r * cols + c] += sum_lanes a[r] * b[c], by the
//          register-blocked kernel of outer_helper() on staged copies of a
//          (rows x W) and b transposed (W x cols), dead lanes zeroed in both.
void FunctionLowering::emit_accumulation(size_t index) {
  const Accumulation& acc = entry_.accumulations[index];
  Value* dest = B_.CreateGEP(T_, grad_, i64(acc.offset));
  if (acc.value >= 0) return accumulate_value(index, dest);
  const int64_t rows = g_.len(acc.outer_a), cols = g_.len(acc.outer_b);
  const int64_t a_stride = stage_blocks_ * W_;
  Value* stage_a = B_.CreateGEP(T_, workspace_, i64(stage_offset_[index]));
  Value* stage_b = B_.CreateGEP(T_, stage_a, i64(rows * a_stride));
  stage_outer(index, stage_a, stage_b);
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

// A value accumulation: into its partial sums where there are any, else
// straight into grad at `dest`.
void FunctionLowering::accumulate_value(size_t index, Value* dest) {
  const Accumulation& acc = entry_.accumulations[index];
  if (partials_ != nullptr) {
    Value* part = B_.CreateGEP(VT_, partials_, i64(partial_offset_[index]));
    for_each(g_.len(acc.value), [&](Value* k) {
      Value* at = B_.CreateGEP(VT_, part, k);
      B_.CreateStore(B_.CreateFAdd(B_.CreateLoad(VT_, at), mean_share(acc.value, k)), at);
    });
    return;
  }
  for_each(g_.len(acc.value), [&](Value* k) {
    Value* at = B_.CreateGEP(T_, dest, k);
    llvm::CallInst* sum = B_.CreateFAddReduce(B_.CreateLoad(T_, at), mean_share(acc.value, k));
    sum->setHasAllowReassoc(true);
    B_.CreateStore(sum, at);
  });
}

// Element k of `id`'s live lanes over n: what this block adds to a mean.
Value* FunctionLowering::mean_share(NodeId id, Value* k) {
  return B_.CreateFMul(live(element(id, k)), splat(inv_n_));
}

// This block's lanes of an outer product's operands, staged: a's rows at
// its lanes of stage_a (rows x (K W)), b's rows transposed at its rows of
// stage_b ((K W) x cols), dead lanes zeroed.
void FunctionLowering::stage_outer(size_t index, Value* stage_a, Value* stage_b) {
  const Accumulation& acc = entry_.accumulations[index];
  const int64_t rows = g_.len(acc.outer_a), cols = g_.len(acc.outer_b);
  const int64_t a_stride = stage_blocks_ * W_;
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  for_each(rows, [&](Value* r) {
    Value* at =
        B_.CreateGEP(T_, stage_a, B_.CreateAdd(B_.CreateMul(r, i64(a_stride)), stage_lane_));
    B_.CreateAlignedStore(mean_share(acc.outer_a, r), at, align);
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
    B_.CreateCall(transpose_helper(), {B_.CreateInBoundsGEP(VT_, scratch_, i64(slot)), block_b,
                                       i64(blocks), i64(cols), mask_});
  }
  for_each(cols - blocks * W_, [&](Value* k) {
    Value* c = B_.CreateAdd(k, i64(blocks * W_));
    Value* at = B_.CreateGEP(T_, block_b, B_.CreateAdd(lane_rows, splat(c)));
    B_.CreateMaskedScatter(live(element(acc.outer_b, c)), at, align, all);
  });
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

// An internal void helper `name` of the module, defined once: its first
// `noalias_pointers` arguments are restrict pointers; `body` emits it with
// the builder (and F_, which the loop emitters extend) on its entry block,
// both restored afterwards. Never inlined: a helper exists to be one copy,
// and to the inliner a loop is cheap before it unrolls (the shared loops
// inlined back took a 100-layer MAF's forward from 0.5 to 1.6 s of O2).
llvm::Function* FunctionLowering::define_helper(const std::string& name,
                                                const std::vector<llvm::Type*>& args,
                                                unsigned noalias_pointers,
                                                const std::function<void(llvm::Function*)>& body) {
  if (llvm::Function* existing = m_.getFunction(name)) return existing;
  auto* type = llvm::FunctionType::get(B_.getVoidTy(), args, false);
  auto* helper = llvm::Function::Create(type, llvm::Function::InternalLinkage, name, m_);
  helper->setDoesNotThrow();
  helper->addFnAttr(llvm::Attribute::NoInline);
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
  return define_helper("nfc.outer",
                       {ptr, ptr, ptr, i64_type, i64_type, i64_type, ptr, i64_type, i64_type}, 3,
                       [&](llvm::Function* helper) {
                         OuterArgs args;
                         args.G = helper->getArg(0);
                         args.A = helper->getArg(1);
                         args.BT = helper->getArg(2);
                         args.rows = helper->getArg(3);
                         args.stride = helper->getArg(4);
                         args.bt_cols = helper->getArg(5);
                         args.lengths = helper->getArg(6);
                         args.lanes = helper->getArg(7);
                         args.a_stride = helper->getArg(8);
                         outer_rows(args);
                       });
}

// nfc.outer's body: its rows in blocks of kOuterRows, then the rest one
// by one; each block's columns in blocks of kOuterCols vectors, then a tail.
void FunctionLowering::outer_rows(const OuterArgs& args) {
  Value* block_rows = B_.CreateMul(B_.CreateSDiv(args.rows, i64(kOuterRows)), i64(kOuterRows));
  for (auto [begin, end, R] : {std::tuple<Value*, Value*, int>{i64(0), block_rows, kOuterRows},
                               std::tuple<Value*, Value*, int>{block_rows, args.rows, 1}}) {
    for_dynamic(begin, end, R, [&](Value* r0) {
      // Columns in blocks of kOuterCols vectors, then the rest in as few
      // vectors as cover it: a narrow gradient (a MADE's first layer, 8
      // columns) would otherwise run three vectors of mostly masked columns.
      Value* last = table_entry(args.lengths, B_.CreateAdd(r0, i64(R - 1)));
      const int64_t wide = int64_t{kOuterCols} * W_;
      Value* full = B_.CreateMul(B_.CreateSDiv(last, i64(wide)), i64(wide));
      for_dynamic(i64(0), full, wide, [&](Value* c0) { outer_block(args, r0, c0, R, kOuterCols); });
      Value* left = B_.CreateSub(last, full);  // in [0, kOuterCols W)
      auto* done = llvm::BasicBlock::Create(ctx_, "outer.cols_done", F_);
      for (int C = kOuterCols - 1; C >= 0; --C) {  // left > C W: C + 1 vectors
        auto* run = llvm::BasicBlock::Create(ctx_, "outer.tail", F_);
        auto* next = C > 0 ? llvm::BasicBlock::Create(ctx_, "outer.tail_check", F_) : done;
        B_.CreateCondBr(B_.CreateICmpSGT(left, i64(int64_t{C} * W_)), run, next);
        B_.SetInsertPoint(run);
        outer_block(args, r0, full, R, C + 1);
        B_.CreateBr(done);
        if (C > 0) B_.SetInsertPoint(next);
      }
      B_.SetInsertPoint(done);
    });
  }
}

// One register block of nfc.outer: rows [r0, r0 + R), C vectors of columns
// from c0.
void FunctionLowering::outer_block(const OuterArgs& args, Value* r0, Value* c0, int R, int C) {
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  Value* lane = lane_indices(W_);
  Value* zero = splat_const(0);
  Values col, masks, col_lanes;  // masks[rr * C + cc]: row rr's live columns
  for (int cc = 0; cc < C; ++cc) {
    col.push_back(B_.CreateAdd(c0, i64(int64_t{cc} * W_)));
    col_lanes.push_back(B_.CreateAdd(splat(col.back()), lane));
  }
  for (int rr = 0; rr < R; ++rr) {
    Value* len = splat(table_entry(args.lengths, B_.CreateAdd(r0, i64(rr))));
    for (int cc = 0; cc < C; ++cc)
      masks.push_back(B_.CreateICmpSLT(col_lanes[static_cast<size_t>(cc)], len));
  }
  // BT's columns are read up to the block's longest row (its last).
  Values bt_masks(masks.end() - C, masks.end());
  Values g_at, acc;
  for (int rr = 0; rr < R; ++rr)
    for (int cc = 0; cc < C; ++cc) {
      Value* row = B_.CreateMul(B_.CreateAdd(r0, i64(rr)), args.stride);
      g_at.push_back(B_.CreateGEP(T_, args.G, B_.CreateAdd(row, col[static_cast<size_t>(cc)])));
      acc.push_back(B_.CreateMaskedLoad(VT_, g_at.back(), align,
                                        masks[static_cast<size_t>(rr * C + cc)], zero));
    }
  // A loop over the staged lanes, up to kMaxStageBlocks x W (Jit.cpp's
  // pipeline does not unroll it). Staging several blocks, not unrolling,
  // is what made streaming G affordable.
  acc = for_dynamic_range(i64(0), args.lanes, acc, [&](Value* j, const Values& acc) {
    Values b, a, next;
    Value* bt_row = B_.CreateMul(j, args.bt_cols);
    for (int cc = 0; cc < C; ++cc) {
      Value* at = B_.CreateGEP(T_, args.BT, B_.CreateAdd(bt_row, col[static_cast<size_t>(cc)]));
      b.push_back(B_.CreateMaskedLoad(VT_, at, align, bt_masks[static_cast<size_t>(cc)], zero));
    }
    for (int rr = 0; rr < R; ++rr) {
      Value* at = B_.CreateGEP(
          T_, args.A, B_.CreateAdd(B_.CreateMul(B_.CreateAdd(r0, i64(rr)), args.a_stride), j));
      a.push_back(splat(B_.CreateLoad(T_, at)));
    }
    for (int rr = 0; rr < R; ++rr)
      for (int cc = 0; cc < C; ++cc)
        next.push_back(B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_},
                                          {a[static_cast<size_t>(rr)], b[static_cast<size_t>(cc)],
                                           acc[static_cast<size_t>(rr * C + cc)]}));
    return next;
  });
  for (size_t i = 0; i < acc.size(); ++i) B_.CreateMaskedStore(acc[i], g_at[i], align, masks[i]);
}

}  // namespace nfc::llvm_lowering
