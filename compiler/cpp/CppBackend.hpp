// Lowering a Program entry point to C++17 source: the second backend over
// the same lowered program the LLVM backend compiles (compiler/llvm/), for
// code that ships without nfc or LLVM (`nfc emit-cpp`, CppModule.hpp).
//
// The emitted function runs the per-sample program on one sample:
//
//   void NAME(const Real* p, const Real* in, Real* out_0, ..., Real* out_k)
//
// `Real` (float or double) and the std headers are the caller's to provide,
// so one function text serves both precisions. Values of nodes live in one
// stack array `s` whose slots are planned by liveness (BufferPlan, shared
// with the LLVM backend), so a call allocates nothing on the heap and its
// stack grows with the widest layer, not with the depth of the flow.
// Arithmetic follows the interpreter's order (matvec and sums from 0 in
// index order), so results differ from the JIT's only by rounding (libm
// versus vector maths, fused multiply-adds).
#pragma once

#include <string>

#include "compiler/Program.hpp"

namespace nfc {

// The text of `entry` (a map entry point of `program`) as a function named
// `function_name`, with `static` linkage. Throws InternalError for a
// mean_gradient entry (training stays with the JIT) or a malformed graph.
std::string emit_cpp_function(const Program& program, const EntryPoint& entry,
                              const std::string& function_name);

// A C++ literal of type Real for `value`: the shortest decimal that reads
// back as the same double, or std::numeric_limits for inf and NaN.
std::string cpp_real_literal(double value);

}  // namespace nfc
