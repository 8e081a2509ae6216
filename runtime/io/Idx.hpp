// IDX files, the format of MNIST and Fashion-MNIST (LeCun et al.; Debian's
// dataset-fashion-mnist ships them gzip-compressed): two zero bytes, a type
// byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E
// float64), the number of dimensions, one big-endian uint32 size per
// dimension, then the values, big-endian, C order. A file whose name ends in
// `.gz` is decompressed through zlib into memory; any other is mapped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/RowTable.hpp"

namespace nfc {

struct IdxArray {
  std::vector<int64_t> shape;  // at least one dimension
  // Every value in C order, one per row, as the file stores them (in the
  // mapped file, or the gunzipped bytes), converted when read.
  RowTable values;
};

// Throws DataError naming `path` for a file that is not IDX (its magic
// bytes), a type byte it does not know, a header that promises more (or
// fewer) bytes than follow it, and damaged or truncated gzip data.
IdxArray read_idx(const std::string& path);

// Whether nfc reads `path` as IDX: a name ending in `.idx` or `-ubyte`
// (MNIST's `train-images-idx3-ubyte`), either followed by `.gz`.
bool is_idx_path(const std::string& path);

}  // namespace nfc
