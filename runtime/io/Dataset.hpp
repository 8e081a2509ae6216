// A training or evaluation data set in memory, whatever file or generator it
// came from: rows x cols doubles, every one finite.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nfc {

struct Dataset {
  std::string source;  // the spec it was loaded from, for messages
  int64_t rows = 0;
  int cols = 0;
  std::vector<double> values;  // row-major
};

// `spec` is a path ending in `.npy` or `.csv` (any letter case) or
// `builtin:NAME` (Builtin.hpp), generated with `seed` and `builtin_rows`
// rows; the seed is unused for files. A 1-D .npy array is one column.
// Throws DataError (naming the file, and the row and column where one is at
// fault) for unreadable or malformed files, empty data, NaN and Inf.
Dataset load_dataset(const std::string& spec, uint64_t seed, int64_t builtin_rows = 10000);

}  // namespace nfc
