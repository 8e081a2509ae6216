// libFuzzer target: the CSV reader, directly and as a data set. A DataError
// is the expected answer to bad text; anything else escaping, a crash or a
// sanitizer report is a find.
#include <cstdint>

#include "runtime/DataError.hpp"
#include "runtime/io/Csv.hpp"
#include "runtime/io/Dataset.hpp"
#include "tests/fuzz/FuzzFile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nfc::fuzz::ScratchFile scratch(".csv");
  const std::string& path = scratch.path();
  nfc::fuzz::write_input(path, data, size);
  try {
    nfc::read_csv(path);
  } catch (const nfc::DataError&) {
  }
  try {
    nfc::load_dataset(path, 0);
  } catch (const nfc::DataError&) {
  }
  return 0;
}
