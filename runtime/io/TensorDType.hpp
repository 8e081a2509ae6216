// The element types nfc stores in files (.npy, .safetensors). In memory the
// runtime's IO always holds doubles: a float32 widens to a double exactly,
// so writing it back as float32 reproduces the original bits.
#pragma once

namespace nfc {

enum class TensorDType { f32, f64 };

inline int dtype_size(TensorDType dtype) {
  return dtype == TensorDType::f32 ? 4 : 8;
}

}  // namespace nfc
