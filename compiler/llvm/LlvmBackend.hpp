// Lowering of a Program to LLVM IR, SIMD across samples. Used by the JIT
// (compiler/llvm/Jit.cpp); the only other file that sees LLVM types.
#pragma once

#include "compiler/Jit.hpp"
#include "compiler/Program.hpp"

namespace llvm {
class Module;
}

namespace nfc {

// Adds one function per entry point of `program` to `module` (whose data
// layout and triple are already set), each processing blocks of `width`
// samples as `<width x T>` vectors.
void lower_program(const Program& program, Precision precision, int width, llvm::Module& module);

}  // namespace nfc
