// Lowering a Program entry point to C++17 source: the second backend over
// the same lowered program the LLVM backend compiles (compiler/llvm/), for
// code that ships without nfc or LLVM (`nfc emit-cpp`, CppModule.hpp).
//
// The emitted function runs the per-sample program on one sample, or on a
// block of `lanes` samples:
//
//   void NAME(const Real* p, const Real* in, Real* out_0, ..., Real* out_k)
//
// (`in` and out_i hold `lanes` rows). `Real` (float or double) and the std
// headers are the caller's to provide, so one function text serves both
// precisions. Values of nodes live in one stack array `s` whose slots are
// planned by liveness (BufferPlan, shared with the LLVM backend), so a call
// allocates nothing on the heap and its stack grows with the widest layer,
// not with the depth of the flow. In a block every statement is a loop
// over the lanes (`s[slot][l]`): short fixed-length loops without
// dependences between lanes, which compilers vectorise at -O2 (SIMD across
// samples, as the JIT does), while each lane computes exactly what the
// one-sample function computes. Arithmetic follows the interpreter's order
// (matvec and sums from 0 in index order), so results differ from the
// JIT's only by rounding (libm versus vector maths, fused multiply-adds).
#pragma once

#include <string>

#include "compiler/ir/Program.hpp"
#include "support/InternalError.hpp"

namespace nfc {

// The text of `entry` (an entry point of `program`) as a function named
// `function_name`, with `static` linkage, over `lanes` samples. A
// mean_gradient entry is emitted for one sample (lanes 1) with a last
// argument `Real* grad` into which it adds that sample's gradient terms;
// out_0 receives its loss. Throws InternalError for a malformed graph.
std::string emit_cpp_function(const Program& program, const EntryPoint& entry,
                              const std::string& function_name, int lanes = 1);

// A C++ literal of type Real for `value`: the shortest decimal that reads
// back as the same double, or std::numeric_limits for inf and NaN.
std::string cpp_real_literal(double value);

}  // namespace nfc
