#include "runtime/io/Dataset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "runtime/Builtin.hpp"
#include "runtime/DataError.hpp"
#include "runtime/NonFinite.hpp"
#include "runtime/io/Csv.hpp"
#include "runtime/io/Idx.hpp"
#include "runtime/io/Npy.hpp"

namespace nfc {
namespace {

// Dataset::cols is an int; no model is anywhere near this wide.
constexpr int64_t kMaxColumns = 1'000'000;

bool has_extension(const std::string& path, std::string_view ext) {
  if (path.size() < ext.size()) return false;
  return std::equal(ext.begin(), ext.end(), path.end() - ext.size(), [](char a, char b) {
    return a == std::tolower(static_cast<unsigned char>(b));
  });
}

// NaN and Inf are checked here rather than in the reader: .npy is also how
// nfc writes results, and a reader that refused NaN could not read them
// back. Rows and columns are 0-based, as NumPy indexes them (`x[12, 1]`).
Dataset checked(Dataset d, const Communicator* group) {
  if (group && group->size() > 1) {
    const Shard s = shard_of(d.rows, group->rank(), group->size());
    Dataset shard(d.source, d.slice(s.first, s.end - s.first));
    shard.all_rows = d.rows;
    d = std::move(shard);
  }
  if (const std::string where = first_non_finite(d); !where.empty())
    throw DataError(fmt::format("{}: {}", d.source, where));
  return d;
}

// An IDX array of images [n, h, w] is n rows of h * w values (pixels
// flattened row by row); labels [n] are one column.
Dataset from_idx(const std::string& path, const Communicator* group) {
  IdxArray a = read_idx(path);
  if (a.shape[0] == 0) throw DataError(fmt::format("{}: no rows", path));
  // With no rows the header's other sizes are unchecked: multiply them with
  // a cap, not into an overflow.
  int64_t cols = 1;
  for (size_t d = 1; d < a.shape.size(); ++d) {
    cols *= a.shape[d];
    if (cols == 0) throw DataError(fmt::format("{}: no columns", path));
    if (cols > kMaxColumns)
      throw DataError(fmt::format("{}: more than {} values per row", path, kMaxColumns));
  }
  return checked({path, a.values.reshaped(a.shape[0], int(cols))}, group);
}

Dataset from_npy(const std::string& path, const Communicator* group) {
  NpyArray a = read_npy(path);
  const int64_t cols = a.shape.size() == 2 ? a.shape[1] : 1;
  if (a.shape[0] == 0) throw DataError(fmt::format("{}: no rows", path));
  if (cols == 0) throw DataError(fmt::format("{}: no columns", path));
  if (cols > kMaxColumns) throw DataError(fmt::format("{}: too many columns ({})", path, cols));
  return checked({path, a.values.reshaped(a.shape[0], static_cast<int>(cols))}, group);
}

// A rank of a group parses its shard's lines only. The reader rejects NaN
// and Inf with line numbers already.
Dataset from_csv(const std::string& path, const Communicator* group) {
  const bool shard = group && group->size() > 1;
  CsvTable t = shard ? read_csv(path, group->rank(), group->size()) : read_csv(path);
  Dataset d(path, RowTable(t.rows, t.cols, std::move(t.values)).numbered_from(t.first_row));
  d.all_rows = t.all_rows;
  return d;
}

}  // namespace

Dataset load_dataset(const std::string& spec, uint64_t seed, int64_t builtin_rows,
                     const Communicator* group) {
  if (is_builtin(spec))
    return checked({spec, RowTable(builtin_rows, builtin_dim(spec),
                                   generate_builtin(spec, builtin_rows, seed))},
                   group);
  if (has_extension(spec, ".npy")) return from_npy(spec, group);
  if (has_extension(spec, ".csv")) return from_csv(spec, group);
  if (is_idx_path(spec)) return from_idx(spec, group);
  throw DataError(fmt::format(
      "{}: unknown data format (expected a .npy or .csv file, an IDX file (.idx, -ubyte, either "
      "with .gz), or builtin:NAME)",
      spec));
}

}  // namespace nfc
