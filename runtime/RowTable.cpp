#include "runtime/RowTable.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

#include "runtime/NonFinite.hpp"

namespace nfc {
namespace {

// Values per block of for_each_block (2 MB of doubles): small next to the
// data, large enough that a block is many rows.
constexpr int64_t kBlockValues = int64_t(1) << 18;

uint64_t load_bits(const unsigned char* p, int size, bool swap) {
  uint64_t v = 0;
  if (!swap) {
    std::memcpy(&v, p, size_t(size));  // little-endian host: low bytes first
    return v;
  }
  for (int i = 0; i < size; ++i) v = v << 8 | p[i];
  return v;
}

// IEEE half precision (numpy float16) to float, exactly.
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  if (exponent == 0) {  // zero, subnormal: mantissa * 2^-24, exact in float
    const float v = float(mantissa) * 0x1.0p-24f;
    return sign ? -v : v;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000u | uint32_t(mantissa) << 13);
  return std::bit_cast<float>(sign | uint32_t(exponent - 15 + 127) << 23 |
                              uint32_t(mantissa) << 13);
}

template <class T>
T convert(uint64_t bits, const ElementType& e) {
  switch (e.kind) {
    case 'f':
      if (e.size == 2) return T(half_to_float(uint16_t(bits)));
      if (e.size == 4) return T(std::bit_cast<float>(uint32_t(bits)));
      return T(std::bit_cast<double>(bits));
    case 'i': {
      const int shift = 64 - 8 * e.size;  // sign-extend
      return T(static_cast<int64_t>(bits << shift) >> shift);
    }
    case 'u':
      return T(bits);
    default:  // 'b'
      return T(bits ? 1 : 0);
  }
}

// `count` elements at `src` into `out`. The common cases (values in the
// host's order and of the reader's type; uint8 pixels) are plain loops; the
// rest decode one value at a time.
template <class T>
void decode(const unsigned char* src, const ElementType& e, int64_t count, T* out) {
  const bool swap = e.big_endian && e.size > 1;
  if (e.kind == 'f' && e.size == int(sizeof(T)) && !swap) {
    std::memcpy(out, src, size_t(count) * sizeof(T));
    return;
  }
  if (e.kind == 'u' && e.size == 1) {
    for (int64_t i = 0; i < count; ++i) out[i] = T(src[i]);
    return;
  }
  if (e.kind == 'f' && e.size == 4 && !swap) {
    for (int64_t i = 0; i < count; ++i) {
      float f;
      std::memcpy(&f, src + 4 * i, 4);
      out[i] = T(f);
    }
    return;
  }
  for (int64_t i = 0; i < count; ++i)
    out[i] = convert<T>(load_bits(src + i * e.size, e.size, swap), e);
}

}  // namespace

template <class T>
RowTable::RowTable(int64_t rows, int cols, std::vector<T> values)
    : rows(rows), cols(cols), element_{'f', int(sizeof(T)), false} {
  if (values.size() != size_t(rows) * size_t(cols))
    throw std::invalid_argument("RowTable: values are not rows x cols");
  auto owned = std::make_shared<const std::vector<T>>(std::move(values));
  bytes_ = reinterpret_cast<const unsigned char*>(owned->data());
  owner_ = std::move(owned);
}

RowTable::RowTable(int64_t rows, int cols, ElementType element, const void* bytes,
                   std::shared_ptr<const void> owner)
    : rows(rows),
      cols(cols),
      element_(element),
      bytes_(static_cast<const unsigned char*>(bytes)),
      owner_(std::move(owner)) {
  static_assert(std::endian::native == std::endian::little,
                "nfc reads data on little-endian hosts");
}

RowTable RowTable::reshaped(int64_t new_rows, int new_cols) const {
  if (new_rows * new_cols != rows * cols)
    throw std::invalid_argument("RowTable::reshaped: another element count");
  return RowTable(new_rows, new_cols, element_, bytes_, owner_);
}

RowTable RowTable::slice(int64_t first, int64_t n) const {
  if (first < 0 || n < 0 || first + n > rows)
    throw std::invalid_argument("RowTable::slice: rows outside the table");
  RowTable part(n, cols, element_, bytes_ + size_t(first) * size_t(cols) * size_t(element_.size),
                owner_);
  part.first_row_ = first_row_ + first;
  return part;
}

template <class T>
void RowTable::read_rows(int64_t first, int64_t n, T* out) const {
  decode(bytes_ + size_t(first) * size_t(cols) * size_t(element_.size), element_, n * cols, out);
}

double RowTable::at(int64_t row, int col) const {
  double v;
  decode(bytes_ + (size_t(row) * size_t(cols) + size_t(col)) * size_t(element_.size), element_, 1,
         &v);
  return v;
}

std::vector<double> RowTable::to_vector() const {
  std::vector<double> out(size_t(rows) * size_t(cols));
  if (!out.empty()) read_rows(0, rows, out.data());
  return out;
}

void RowTable::for_each_block(
    const std::function<bool(const double*, int64_t, int64_t)>& visit) const {
  const int64_t block = std::max<int64_t>(1, kBlockValues / std::max(cols, 1));
  std::vector<double> values;
  for (int64_t first = 0; first < rows; first += block) {
    const int64_t n = std::min(block, rows - first);
    values.resize(size_t(n) * size_t(cols));
    read_rows(first, n, values.data());
    if (!visit(values.data(), first_row_ + first, n)) return;
  }
}

std::string first_non_finite(const RowTable& t) {
  std::string where;
  if (t.integral()) return where;
  t.for_each_block([&](const double* values, int64_t first, int64_t n) {
    where = first_non_finite(values, n, t.cols, first);
    return where.empty();
  });
  return where;
}

OutsideSupport rows_outside(const Support& s, const RowTable& t) {
  OutsideSupport out;
  if (!restricted(s)) return out;
  t.for_each_block([&](const double* values, int64_t first, int64_t n) {
    OutsideSupport block = rows_outside(s, values, n, t.cols);
    if (block.rows > 0 && out.rows == 0) {
      out = block;
      out.first_row += first;
    } else {
      out.rows += block.rows;
    }
    return true;
  });
  return out;
}

template RowTable::RowTable(int64_t, int, std::vector<float>);
template RowTable::RowTable(int64_t, int, std::vector<double>);
template void RowTable::read_rows<float>(int64_t, int64_t, float*) const;
template void RowTable::read_rows<double>(int64_t, int64_t, double*) const;

}  // namespace nfc
