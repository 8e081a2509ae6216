// A table of rows x cols numbers kept as its source stores them: doubles or
// floats the program made, the uint8 pixels of a decompressed IDX file, or
// a memory-mapped .npy file of any element type. Values are converted when
// read, so a 47-million-pixel image set costs its 47 MB (or nothing but
// page cache, when mapped) instead of 376 MB of doubles, and the trainer
// gathers each batch straight from it.
//
// Every element type here converts to double exactly (8-byte integers
// beyond 2^53 are refused by the readers), and float16/float32 to float
// exactly, so a value read in either precision is the file's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "abi/Support.hpp"

namespace nfc {

// How one value is stored: 'f' IEEE float of 2, 4 or 8 bytes, 'i'/'u'
// signed/unsigned integer of 1, 2, 4 or 8 bytes, 'b' bool (1 byte).
struct ElementType {
  char kind = 'f';
  int size = 8;
  bool big_endian = false;
};

class RowTable {
 public:
  RowTable() = default;
  // Owns `values` (float or double), row-major, rows * cols of them.
  template <class T>
  RowTable(int64_t rows, int cols, std::vector<T> values);
  // rows * cols elements at `bytes`, kept alive by `owner` (a mapping, a
  // buffer), which this table shares.
  RowTable(int64_t rows, int cols, ElementType element, const void* bytes,
           std::shared_ptr<const void> owner);

  // The same elements seen as rows x cols (their count unchanged): a
  // reader's flat array as a data set's rows.
  RowTable reshaped(int64_t rows, int cols) const;
  // Rows first .. first + n - 1 as a table of their own (shared, not
  // copied), which counts its rows from `first` in what it reports
  // (first_non_finite, rows_outside): a rank's shard of the data.
  RowTable slice(int64_t first, int64_t n) const;
  // The row of the table this one was cut from that is its row 0.
  int64_t first_row() const { return first_row_; }
  // The same table, its row 0 being row `first` of the data it was read
  // from (a reader that read a shard only).
  RowTable numbered_from(int64_t first) const {
    RowTable t = *this;
    t.first_row_ = first;
    return t;
  }

  int64_t rows = 0;
  int cols = 0;

  // Rows first .. first + n - 1 into `out` (n * cols values).
  template <class T>
  void read_rows(int64_t first, int64_t n, T* out) const;
  double at(int64_t row, int col) const;
  // Every value as doubles (a copy: for callers that change them).
  std::vector<double> to_vector() const;
  // Calls `visit(values, first_row, n)` on consecutive blocks of rows read
  // as doubles, in order, until it returns false; first_row counts from
  // first_row().
  void for_each_block(const std::function<bool(const double*, int64_t, int64_t)>& visit) const;
  // Whether every value is an integer by its type (no finiteness to check).
  bool integral() const { return element_.kind != 'f'; }

 private:
  ElementType element_;
  const unsigned char* bytes_ = nullptr;
  std::shared_ptr<const void> owner_;
  int64_t first_row_ = 0;
};

// "row 12, column 1: NaN" for the first value that is not finite, or empty.
std::string first_non_finite(const RowTable& t);

// The rows outside the support, judged on the first s.size() columns
// (abi/Support.hpp's rows_outside over the whole table).
OutsideSupport rows_outside(const Support& s, const RowTable& t);

}  // namespace nfc
