// Comma-separated numbers, the other data format users have at hand.
//
// Reading: one sample per line, fields separated by commas; spaces and tabs
// around a field are ignored; a field may be quoted ("a,1", with "" for a
// quote); `\r\n` line ends and a UTF-8 byte-order mark are tolerated; blank
// lines at the end are ignored, blank lines between rows are an error.
// Header rule: the first line is a header only if none of its fields is a
// number and one is not empty, so `x,y` and `,value` are headers, and
// `1.5,2`, `1e999,2` and `0x10,1` are data (whose errors are reported). Every
// value must be a finite double: NaN, Inf, overflow and underflow to zero
// are errors. Errors name the place as `file:line:field` (both 1-based; the
// field is the column number, not the character offset), and quote at most
// 60 bytes of a field, every byte printable (support/Echo.hpp).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace nfc {

struct CsvTable {
  std::vector<std::string> header;  // empty if the file has none
  int64_t rows = 0;
  int cols = 0;
  std::vector<double> values;  // row-major
  // A part of the rows (read_csv's `part`): the file's data rows, and
  // which of them is this table's row 0.
  int64_t all_rows = 0, first_row = 0;
};

// Throws DataError for an unreadable or empty file, a header without rows,
// ragged rows, blank lines inside the data, non-numbers and NaN/Inf.
// With `parts` > 1, only the rows of shard `part` (shard_of: a rank of a
// group) are parsed and checked; the other lines are only split, and
// checked for blank lines.
CsvTable read_csv(const std::string& path, int part = 0, int parts = 1);

// Writes a header line (if `header` is non-empty it must have `cols` names)
// and one line per row, each number in the shortest form that reads back
// to the same value. Atomic (AtomicFile.hpp).
void write_csv(const std::string& path, const std::vector<std::string>& header,
               const double* values, int64_t rows, int cols);
void write_csv(const std::string& path, const std::vector<std::string>& header, const float* values,
               int64_t rows, int cols);

// The halves of write_csv, for writers that stream rows: the header line
// (with its newline), then rows appended.
std::string csv_header_line(const std::vector<std::string>& header);
void append_csv_rows(std::ostream& out, const double* values, int64_t rows, int cols);

}  // namespace nfc
