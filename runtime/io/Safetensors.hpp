// The safetensors format (https://github.com/huggingface/safetensors), so
// parameters move to and from PyTorch/NumPy untouched:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON: {"__metadata__": {str: str},
//                    "name": {"dtype": "F32"|"F64", "shape": [...],
//                             "data_offsets": [begin, end]}, ...}
//             padded with spaces so N is a multiple of 8
//   rest      the byte buffer; offsets are relative to its start, and the
//             tensors (little-endian, C order) cover it exactly, without
//             gaps or overlaps
//
// nfc writes the tensors contiguously in the order given and reads them back
// in buffer order, which is the same order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "runtime/io/TensorDType.hpp"

namespace nfc {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;  // [] is a scalar
  std::vector<double> values;  // C order, converted from/to the file's dtype
};

// A tensor to write, its values where the caller keeps them, in either
// precision: a checkpoint of millions of parameters and their optimiser
// state is written without a copy of either.
struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  std::variant<const double*, const float*> values = static_cast<const double*>(nullptr);
  size_t count = 0;
};

// Writes atomically (AtomicFile.hpp), streaming the values through a small
// buffer. F32 narrows each double, which is exact for values that came from
// float. Names must be unique and not `__metadata__`, and each shape's
// product must equal the value count (std::invalid_argument otherwise:
// those are caller bugs).
void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       TensorDType dtype, const std::map<std::string, std::string>& metadata);
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       TensorDType dtype, const std::map<std::string, std::string>& metadata);

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<NamedTensor> tensors;      // in buffer order
  TensorDType dtype = TensorDType::f32;  // f64 if any tensor is F64
};

// Validates everything and throws a one-line DataError naming the file on
// any problem: short file, header length beyond the file or over 100 MB,
// invalid JSON, missing or ill-typed fields, a dtype other than F32/F64,
// shape and offsets that disagree, offsets out of range, overlapping or
// leaving gaps, bytes after the last tensor.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace nfc
