// Lowering of a Program to LLVM IR, SIMD across samples. Used by the JIT
// (compiler/backend/llvm/Jit.cpp); the only other file that sees LLVM types.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "compiler/backend/llvm/Jit.hpp"
#include "compiler/ir/Program.hpp"

namespace llvm {
class Module;
}

namespace nfc {

// A vector variant of a scalar libm function: `symbol` computes `lanes`
// lanes at once, one vector argument and result (glibc's libmvec naming,
// e.g. _ZGVeN16v_expf), callable with the host's calling convention.
struct VectorFunction {
  std::string symbol;
  int lanes = 0;  // divides the lowering's width
};
// By scalar libm name ("expf", "tanh"): the functions the lowering may call
// instead of one scalar call per lane. Absent names stay per-lane calls.
using VectorMath = std::map<std::string, VectorFunction>;

// How the code for one entry point is laid out for the target CPU.
struct LoweringShape {
  // Samples per block, processed as `<width x T>` vectors.
  int width = 1;
  // With width 1 and row_lanes > 1, matrix-vector products run along rows
  // in vectors of row_lanes (the one-sample entry point); 0 otherwise.
  int row_lanes = 0;
  // Rows of a matvec (columns of a matvec_t) computed together: each input
  // element loaded feeds this many independent FMA chains, one <width x T>
  // accumulator each (Jit.cpp's register_block fits them to the target's
  // vector registers).
  int row_block = 8;
};

// Adds the function of `entry` (one of `program`'s entry points) and the
// internal helpers it calls to `module` (whose data layout and triple are
// already set). One module per entry point lets entry points be optimised
// and compiled independently, on different threads. Returns the bytes of
// workspace the function needs (its last argument; mean_gradient entries
// only, else 0).
int64_t lower_entry(const Program& program, const EntryPoint& entry, Precision precision,
                    const LoweringShape& shape, const VectorMath& vector_math,
                    llvm::Module& module);

}  // namespace nfc
