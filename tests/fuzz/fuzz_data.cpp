// libFuzzer target for one data format, chosen by the extension the build
// gives it (NFC_FUZZ_EXTENSION: ".npy", ".csv", ".idx", ".idx.gz"): the
// bytes become a file of that name and are read as `--data` reads them
// (load_dataset: the format's reader, then the shape and finiteness
// checks). A DataError is the expected answer to bad bytes; anything else
// escaping, a crash or a sanitizer report is a find.
#include <cstdint>

#include "runtime/DataError.hpp"
#include "runtime/io/Dataset.hpp"
#include "tests/fuzz/FuzzFile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nfc::fuzz::ScratchFile scratch(NFC_FUZZ_EXTENSION);
  const std::string& path = scratch.path();
  nfc::fuzz::write_input(path, data, size);
  try {
    nfc::load_dataset(path, 0);
  } catch (const nfc::DataError&) {
  }
  return 0;
}
