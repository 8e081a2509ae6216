// The floating-point type a flow is compiled for. Shared by the public API
// (nfc/nfc.hpp) and the compiler (compiler/backend/llvm/Jit.hpp), so both name one type.
#pragma once

namespace nfc {

enum class Precision { f32, f64 };

}  // namespace nfc
