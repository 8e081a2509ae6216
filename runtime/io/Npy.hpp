// NumPy's .npy format, the subset nfc needs: C order, 1-D or 2-D. Reading
// accepts versions 1.0, 2.0 and 3.0 (they differ only in the width of the
// header length and the header's text encoding) and float16/32/64, integer
// and bool arrays of either byte order, read in place from a memory map and
// converted to double exactly when read;
// writing produces version 1.0, float32 or float64, which every NumPy reads.
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/RowTable.hpp"
#include "runtime/io/TensorDType.hpp"

namespace nfc {

struct NpyArray {
  std::vector<int64_t> shape;            // one or two entries
  TensorDType dtype = TensorDType::f64;  // f32 for float16 and float32 files
  // Every element in C order, one per row, read in place from the mapped
  // file and converted when read (float16/32 widen exactly).
  RowTable values;
};

// Maps the file (MappedFile.hpp) and checks its header and size; the values
// are read from the mapping when asked for. Throws DataError naming `path`
// for anything outside the subset above and for damaged files (bad magic,
// truncated header or data, trailing bytes, 8-byte integers beyond 2^53,
// which a double cannot hold exactly).
NpyArray read_npy(const std::string& path);

// Writes atomically (AtomicFile.hpp). `shape` has one or two entries and
// its product is the number of values. f32 narrows each double: exact for
// values that came from float32.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const double* values,
               TensorDType dtype);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* values);

// The two halves of write_npy, for writers that stream rows of a known
// count: the header for `shape`, then values appended in C order.
std::string npy_header(const std::vector<int64_t>& shape, TensorDType dtype);
void append_npy_values(std::ostream& out, const double* values, int64_t count, TensorDType dtype);

}  // namespace nfc
