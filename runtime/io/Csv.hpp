// Comma-separated numbers, the other data format users have at hand.
//
// Reading: one sample per line, fields separated by commas; spaces and tabs
// around a field and `"` quotes around it are ignored (a quoted field may
// not contain a comma); `\r\n` line ends and a UTF-8 byte-order mark are
// tolerated; blank lines at the end are ignored, blank lines between rows
// are an error. Header rule: the first line is a header if at least one of
// its fields is non-empty and not a number, so `x,y` is a header and
// `1.5,2` is data (a header made only of numbers cannot be told from data).
// Every value must be a finite number. Errors name the place as
// `file:line:field` (both 1-based; the field is the column number, not the
// character offset).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nfc {

struct CsvTable {
  std::vector<std::string> header;  // empty if the file has none
  int64_t rows = 0;
  int cols = 0;
  std::vector<double> values;  // row-major
};

// Throws DataError for an unreadable or empty file, a header without rows,
// ragged rows, blank lines inside the data, non-numbers and NaN/Inf.
CsvTable read_csv(const std::string& path);

// Writes a header line (if `header` is non-empty it must have `cols` names)
// and one line per row, each number in the shortest form that reads back
// to the same value. Atomic (AtomicFile.hpp).
void write_csv(const std::string& path, const std::vector<std::string>& header,
               const double* values, int64_t rows, int cols);
void write_csv(const std::string& path, const std::vector<std::string>& header, const float* values,
               int64_t rows, int cols);

}  // namespace nfc
