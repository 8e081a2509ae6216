// Matrix-vector products: matvec (register-blocked rows, staircases of a
// masked matrix, dot products along rows for the one-sample entry point) and
// matvec_t (register-blocked columns), each accumulated in the interpreter's
// order, but for fewer than 4 rows at a time (two partial sums a row:
// emit_matvec_rows).
#include <algorithm>

#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

// out[r] = sum_c M[offset + r * stride + c] * v[c], accumulated in column
// order like the interpreter, row_block_ rows at a time.
void FunctionLowering::emit_matvec(NodeId id) {
  const Node& n = g_.node(id);
  if (row_dot_applies(id)) return emit_matvec_row_dots(id);
  if (!n.indices.empty()) return emit_staircase_matvec(id);
  if (n.rows <= kUnrollMax) return emit_matvec_rows(id, i64(0), n.rows, i64(n.cols));
  const int blocks = n.rows / row_block_, rest = n.rows % row_block_;
  // Row blocks stay a loop: each block is already row_block_ accumulators
  // wide, and unrolling blocks only multiplies IR (and compile time).
  for_each(
      blocks,
      [&](Value* b) {
        emit_matvec_rows(id, B_.CreateMul(b, i64(row_block_)), row_block_, i64(n.cols));
      },
      1);
  if (rest > 0) emit_matvec_rows(id, i64(int64_t{blocks} * row_block_), rest, i64(n.cols));
}

// A staircase (row r reads columns < row_lengths[r], non-decreasing): each
// block of rows runs its columns up to its last row's length. The shorter
// rows of the block read structural zeros there (Graph.hpp's MatrixView),
// so the skipped work is the zeros right of the block's longest row: for a
// MADE about half of all multiply-adds.
void FunctionLowering::emit_staircase_matvec(NodeId id) {
  const Node& n = g_.node(id);
  const int blocks = n.rows / row_block_, rest = n.rows % row_block_;
  auto block_cols = [&](int first, int count) { return n.indices[size_t(first + count - 1)]; };
  // Short: straight-line blocks. Like emit_matvec's unrolled rows, this
  // covers every matvec held in registers (at most kUnrollMax rows), which
  // a run-time row could not index.
  if (n.rows <= std::max(2 * row_block_, kUnrollMax)) {
    for (int first = 0; first < n.rows; first += row_block_) {
      const int count = std::min(row_block_, n.rows - first);
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
    for (int b = 0; b < blocks; ++b) cols.push_back(block_cols(b * row_block_, row_block_));
    table = index_table(cols, "staircase");
  }
  for_each(
      blocks,
      [&](Value* b) {
        emit_matvec_rows(id, B_.CreateMul(b, i64(row_block_)), row_block_,
                         table ? table_entry(table, b) : i64(n.cols));
      },
      1);
  if (rest > 0)
    emit_matvec_rows(id, i64(blocks * row_block_), rest,
                     i64(block_cols(blocks * row_block_, rest)));
}

// One sample per block (W = 1, the small-batch log_prob): the per-sample
// program is scalar, so the SIMD goes along a matrix row instead. Output r
// is the dot product of row r (its first row_lengths[r] columns for a
// staircase) with the input vector, both contiguous in memory, in vectors of
// row_lanes_ with a masked tail, summed at the end (a dense matrix's rows
// row_lanes_ at a time, emit_row_dot_groups): a 64 x 64 layer costs 64 x 4
// vector multiply-adds rather than 4096 scalar ones. The sum is
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
  Value* lane = lane_indices(L);
  const int64_t matrix = g_.params().at(static_cast<size_t>(g_.node(n.args[0]).index)).offset;
  Value* weights = B_.CreateGEP(T_, params_, i64(matrix + n.offset));
  Value* v = B_.CreateInBoundsGEP(T_, scratch_, i64(plan_.offset[static_cast<size_t>(n.args[1])]));
  const int first_row = emit_row_dot_groups(id, weights, v);
  Value* lengths = n.indices.empty() ? nullptr : index_table(n.indices, "row_lengths");
  auto row_dot = [&](Value* r) {
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
  };
  for_each(n.rows - first_row, [&](Value* k) { row_dot(B_.CreateAdd(k, i64(first_row))); });
}

// The rows of a dense matrix whose rows are whole vectors, row_lanes_ (L)
// at a time: one loop over the columns carries L accumulators (each vector
// of v loaded once for L rows), and the L dot products are summed across
// lanes together (sum_lanes_of_each) instead of one horizontal sum a row.
// W1's batch-1 log_prob 2.9 -> 2.3 us, W3's 2.4 -> 2.1 us on Zen 4. An
// output in scratch is written by a helper shared by every matrix of the
// shape (a repeat's layers: code generation pays for it once). Returns how
// many rows it did (0 if the matrix is not of that kind).
int FunctionLowering::emit_row_dot_groups(NodeId id, Value* weights, Value* v) {
  const Node& n = g_.node(id);
  const int L = row_lanes_;
  if (!n.indices.empty() || n.cols % L != 0 || n.rows < L) return 0;
  const int done = n.rows / L * L;
  const int64_t slot = plan_.offset[static_cast<size_t>(id)];
  if (slot < 0 || redirect_.count(id) > 0) {
    emit_row_dot_group_loop(id, weights, v, nullptr);
    return done;
  }
  auto* ptr = llvm::PointerType::getUnqual(ctx_);
  const std::string name = "nfc.row_dots." + std::to_string(n.rows) + "x" + std::to_string(n.cols) +
                           "s" + std::to_string(n.stride);
  llvm::Function* helper = define_helper(name, {ptr, ptr, ptr}, 3, [&](llvm::Function* h) {
    h->addFnAttr("min-legal-vector-width", std::to_string(L * T_->getPrimitiveSizeInBits()));
    emit_row_dot_group_loop(id, h->getArg(0), h->getArg(1), h->getArg(2));
  });
  B_.CreateCall(helper, {weights, v, B_.CreateInBoundsGEP(T_, scratch_, i64(slot))});
  return done;
}

// The groups' loop: the sums stored L at a time at `out` (rows in order),
// or defined row by row without it.
void FunctionLowering::emit_row_dot_group_loop(NodeId id, Value* weights, Value* v, Value* out) {
  const Node& n = g_.node(id);
  const int L = row_lanes_;
  auto* RT = llvm::FixedVectorType::get(T_, static_cast<unsigned>(L));
  const llvm::Align align(T_->getPrimitiveSizeInBits() / 8);
  Value* zero = llvm::ConstantFP::get(RT, 0.0);
  for_each(
      n.rows / L,
      [&](Value* group) {
        Value* first = B_.CreateMul(group, i64(L));
        Values rows;
        for (int j = 0; j < L; ++j)
          rows.push_back(
              B_.CreateGEP(T_, weights, B_.CreateMul(B_.CreateAdd(first, i64(j)), i64(n.stride))));
        const Values acc =
            for_range(n.cols / L, Values(size_t(L), zero), 1, [&](Value* q, const Values& a) {
              Value* c = B_.CreateMul(q, i64(L));
              Value* x = B_.CreateAlignedLoad(RT, B_.CreateGEP(T_, v, c), align);
              Values next;
              for (int j = 0; j < L; ++j) {
                Value* m = B_.CreateAlignedLoad(RT, B_.CreateGEP(T_, rows[size_t(j)], c), align);
                next.push_back(
                    B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {RT}, {m, x, a[size_t(j)]}));
              }
              return next;
            });
        Value* sums = sum_lanes_of_each(acc);
        if (out != nullptr) {
          B_.CreateAlignedStore(sums, B_.CreateGEP(T_, out, first), align);
          return;
        }
        for (int j = 0; j < L; ++j)
          define(id, B_.CreateAdd(first, i64(j)),
                 splat(B_.CreateExtractElement(sums, uint64_t(j))));
      },
      // A loop over the groups, unrolled for an output held in registers
      // (constant indices: a few rows).
      out != nullptr || addressable(id) ? 1 : kUnrollMax);
}

// L vectors of L lanes (L a power of two) to one whose lane j is the sum of
// vector j's lanes: log2 L rounds, each adding the two halves of every
// row's lanes with two shuffles per pair of vectors (2 (L - 1) shuffles and
// L - 1 adds in all, where a horizontal sum per vector takes log2 L of
// each, L times over).
Value* FunctionLowering::sum_lanes_of_each(Values v) {
  const int L = static_cast<int>(v.size());
  for (int segment = L; segment > 1; segment /= 2) {
    // Each vector holds L / segment rows of `segment` lanes each; pairs of
    // vectors become one holding twice the rows at half the lanes.
    llvm::SmallVector<int, 64> low, high;
    for (int half = 0; half < 2; ++half)
      for (int s = 0; s < L; s += segment)
        for (int k = 0; k < segment / 2; ++k) {
          low.push_back(half * L + s + k);
          high.push_back(half * L + s + segment / 2 + k);
        }
    Values next;
    for (size_t i = 0; i + 1 < v.size(); i += 2)
      next.push_back(B_.CreateFAdd(B_.CreateShuffleVector(v[i], v[i + 1], low),
                                   B_.CreateShuffleVector(v[i], v[i + 1], high)));
    v = std::move(next);
  }
  return v[0];
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
  // Rows [first, first + count) of acc take column c's terms.
  auto step = [&](Value* c, const Values& acc, size_t first) {
    Value* vc = element(v, c);
    Values next(acc);
    for (int i = 0; i < count; ++i) {
      Value* m = element(matrix, B_.CreateAdd(row_start[static_cast<size_t>(i)], c));
      next[first + size_t(i)] =
          B_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {VT_}, {m, vc, acc[first + size_t(i)]});
    }
    return next;
  };
  // Fewer than 4 rows are too few FMA chains to cover the FMA latency (4
  // cycles, 1-2 FMAs a cycle): then each row keeps two partial sums. A
  // coupling's 2-row output layer took 6% of W1's log_prob with one sum,
  // half of that with two.
  const Values acc =
      column_sums(Values(size_t(count), splat_const(0)), cols, count < 4 ? 2 : 1, step);
  for (int i = 0; i < count; ++i)
    produce(id, B_.CreateAdd(first_row, i64(i)), acc[static_cast<size_t>(i)]);
}

// out[c] = sum_r M[offset + r * stride + c] * a[r], accumulated in row order
// like the interpreter, row_block_ columns at a time: each a[r] loaded feeds
// row_block_ FMA chains, as in matvec. For a staircase, a block of columns
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
  if (n.rows <= kUnrollMax && n.indices.empty()) {
    // Few rows, many columns (an autoregressive step's block, a coupling's
    // output layer): one loop over the columns, the rows unrolled in it, is
    // a few instructions per row where blocks of columns would be hundreds.
    for_each(n.cols, [&](Value* c) { emit_matvec_t_cols(id, c, 1, i64(0)); }, 1);
    return;
  }
  const int blocks = n.cols / row_block_, rest = n.cols % row_block_;
  if (!n.indices.empty() && (blocks <= 2 || !addressable(n.args[1]))) {  // straight-line blocks
    for (int first = 0; first < n.cols; first += row_block_)
      emit_matvec_t_cols(id, i64(first), std::min(row_block_, n.cols - first),
                         i64(first_row(first)));
    return;
  }
  Value* starts = nullptr;
  if (!n.indices.empty()) {
    std::vector<int> rows;
    for (int b = 0; b < blocks; ++b) rows.push_back(first_row(b * row_block_));
    starts = index_table(rows, "staircase_t");
  }
  for_each(
      blocks,
      [&](Value* b) {
        emit_matvec_t_cols(id, B_.CreateMul(b, i64(row_block_)), row_block_,
                           starts ? table_entry(starts, b) : i64(0));
      },
      1);
  if (rest > 0)
    emit_matvec_t_cols(id, i64(int64_t{blocks} * row_block_), rest,
                       i64(first_row(blocks * row_block_)));
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
    produce(id, B_.CreateAdd(first_col, i64(i)), acc[static_cast<size_t>(i)]);
}

}  // namespace nfc::llvm_lowering
