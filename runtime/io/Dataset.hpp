// A training or evaluation data set, whatever file or generator it came
// from: a table of rows x cols values (RowTable.hpp: a .npy file read in
// place through a memory map, an IDX file's pixels as bytes), every one
// finite.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/Communicator.hpp"
#include "runtime/RowTable.hpp"

namespace nfc {

struct Dataset : RowTable {
  Dataset() = default;
  Dataset(std::string source, RowTable table)
      : RowTable(std::move(table)), source(std::move(source)), all_rows(rows) {}
  std::string source;  // the spec it was loaded from, for messages
  // The rows of the whole data set: `rows` unless this is a rank's shard.
  int64_t all_rows = 0;
};

// `spec` is a path ending in `.npy` or `.csv` (any letter case), an IDX
// file, or `builtin:NAME` (Builtin.hpp), generated with `seed` and
// `builtin_rows` rows; the seed is unused for files. A 1-D .npy array is
// one column. Throws DataError (naming the file, and the row and column
// where one is at fault) for unreadable or malformed files, empty data, NaN
// and Inf.
// With a group of more than one process the result is this rank's shard of
// the rows (shard_of; all_rows says how many the file has, and messages
// count rows from the file's first): only the shard is checked, and a .npy
// file's other rows are never read. With more processes than rows some
// shards are empty.
Dataset load_dataset(const std::string& spec, uint64_t seed, int64_t builtin_rows = 10000,
                     const Communicator* group = nullptr);

}  // namespace nfc
