// libFuzzer target: the safetensors reader, and the checkpoint loaders on
// top of it (parameters for a fixed two-tensor table, training state). A
// DataError is the expected answer to bad bytes; anything else escaping, a
// crash or a sanitizer report is a find.
#include <cstdint>

#include "runtime/DataError.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "runtime/io/Safetensors.hpp"
#include "tests/fuzz/FuzzFile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nfc::fuzz::ScratchFile scratch(".safetensors");
  const std::string& path = scratch.path();
  // The table of a small model: a 2x3 weight and a 2-vector.
  static const std::vector<nfc::ParamTensor> table = {
      {"c0.w0", {2, 3}, 0, 6, 0.5, {}, {}},
      {"c0.b0", {2}, 6, 2, 0.5, {}, {}},
  };
  nfc::fuzz::write_input(path, data, size);
  try {
    nfc::read_safetensors(path);
  } catch (const nfc::DataError&) {
  }
  try {
    nfc::load_params(path, table, 2);
  } catch (const nfc::DataError&) {
  }
  try {
    nfc::load_train_state(path, 8);
  } catch (const nfc::DataError&) {
  }
  return 0;
}
