#include "runtime/io/Npy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "runtime/DataError.hpp"
#include "runtime/io/AtomicFile.hpp"
#include "runtime/io/MappedFile.hpp"
#include "support/Echo.hpp"

namespace nfc {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// The parts of the header dictionary nfc looks at.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses the header, a Python dict literal such as
// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`.
// Only the value forms NumPy writes for plain arrays are understood: strings,
// True/False and tuples of integers; anything else is a malformed header.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string_view text) : path_(path), s_(text) {}

  NpyHeader parse() {
    NpyHeader h;
    std::set<std::string> seen;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
      } else if (key == "shape") {
        h.shape = int_tuple();
      } else {
        fail(fmt::format("unexpected key '{}'", echoed(key)));
      }
      seen.insert(key);
      if (!peek('}')) expect(',');
    }
    expect('}');
    if (seen.size() != 3) fail("needs the keys 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}: malformed header: {}", path_, what));
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  bool peek(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(fmt::format("expected '{}' at byte {}", c, i_));
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"'))
      fail(fmt::format("expected a string at byte {}", i_));
    const char quote = s_[i_++];
    const size_t end = s_.find(quote, i_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return value;
      }
    }
    fail("'fortran_order' must be True or False");
  }
  // `()`, `(3,)`, `(3, 2)`; Python 2 wrote longs as `3L`.
  std::vector<int64_t> int_tuple() {
    std::vector<int64_t> out;
    expect('(');
    while (!peek(')')) {
      out.push_back(integer());
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;
      if (!peek(')')) expect(',');
    }
    expect(')');
    return out;
  }
  int64_t integer() {
    skip_space();
    int64_t value = 0;
    const size_t start = i_;
    for (; i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; ++i_) {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
      value = value * 10 + (s_[i_] - '0');
    }
    if (i_ == start) fail(fmt::format("expected a dimension at byte {}", i_));
    return value;
  }

  const std::string& path_;
  std::string_view s_;
  size_t i_ = 0;
};

uint64_t read_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// An element type nfc reads: floats of 2, 4 or 8 bytes, signed and
// unsigned integers of 1..8 bytes (np.save of counts gives int64), bool;
// either byte order. '|' (no byte order) and '=' (native) mean the host's.
ElementType parse_descr(const std::string& path, const std::string& descr) {
  const auto refuse = [&] {
    return DataError(fmt::format("{}: unsupported dtype '{}' (need a float, integer or bool array)",
                                 path, echoed(descr)));
  };
  if (descr.size() < 3 || !std::strchr("<>|=", descr[0])) throw refuse();
  const bool native_big = std::endian::native == std::endian::big;
  ElementType e{descr[1], 0, descr[0] == '>' || (native_big && descr[0] != '<')};
  const std::string size = descr.substr(2);
  if (size.size() != 1 || size[0] < '1' || size[0] > '8') throw refuse();
  e.size = size[0] - '0';
  const bool ok = (e.kind == 'f' && (e.size == 2 || e.size == 4 || e.size == 8)) ||
                  ((e.kind == 'i' || e.kind == 'u') &&
                   (e.size == 1 || e.size == 2 || e.size == 4 || e.size == 8)) ||
                  (e.kind == 'b' && e.size == 1);
  if (!ok) throw refuse();
  return e;
}

// Whether the 8-byte integer at `p` is beyond 2^53 in magnitude, where
// doubles no longer hold every integer.
bool beyond_double(const unsigned char* p, const ElementType& e) {
  unsigned char b[8];
  std::memcpy(b, p, 8);
  if (e.big_endian) std::reverse(b, b + 8);
  constexpr uint64_t kExact = uint64_t(1) << 53;
  const uint64_t bits = read_le(b, 8);
  if (e.kind == 'u') return bits > kExact;
  const int64_t v = static_cast<int64_t>(bits);
  return v > int64_t(kExact) || v < -int64_t(kExact);
}

// Number of elements; refuses shapes whose product overflows.
int64_t element_count(const std::string& path, const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / 16 / d)
      throw DataError(fmt::format("{}: shape is too large", path));
    count *= d;
  }
  return count;
}

void check_header(const std::string& path, const NpyHeader& h) {
  if (h.fortran_order)
    throw DataError(fmt::format("{}: Fortran-order arrays are not supported", path));
  if (h.shape.empty() || h.shape.size() > 2)
    throw DataError(
        fmt::format("{}: expected a 1-D or 2-D array, found {}-D", path, h.shape.size()));
}

class NpyReader {
 public:
  explicit NpyReader(const std::string& path)
      : path_(path), file_(MappedFile::open(path)), size_(file_->size()) {}

  NpyArray read() {
    const std::string_view header_text = read_header_text();
    const NpyHeader h = HeaderParser(path_, header_text).parse();
    NpyArray array;
    const ElementType element = parse_descr(path_, h.descr);
    array.dtype = element.kind == 'f' && element.size <= 4 ? TensorDType::f32 : TensorDType::f64;
    check_header(path_, h);
    array.shape = h.shape;
    const int64_t count = element_count(path_, h.shape);
    check_values(count, element);
    array.values = RowTable(count, 1, element, file_->data() + pos_, file_);
    return array;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}: {}", path_, what));
  }

  const unsigned char* take(uint64_t n) {
    const unsigned char* p = file_->data() + pos_;
    pos_ += n;
    return p;
  }

  // Magic, version, header length (2 bytes in v1, 4 in v2 and v3), header.
  std::string_view read_header_text() {
    if (size_ < 8) fail("not a .npy file (bad magic)");
    const unsigned char* prefix = take(8);
    if (std::memcmp(prefix, kMagic, kMagicSize) != 0) fail("not a .npy file (bad magic)");
    const int major = prefix[6], minor = prefix[7];
    if (major < 1 || major > 3 || minor != 0)
      fail(fmt::format("unsupported .npy version {}.{}", major, minor));
    const int len_bytes = major == 1 ? 2 : 4;
    if (size_ < 8u + len_bytes) fail("truncated header");
    const uint64_t header_len = read_le(take(uint64_t(len_bytes)), len_bytes);
    if (header_len > size_ - pos_) fail("truncated header");
    return {reinterpret_cast<const char*>(take(header_len)), header_len};
  }

  // The data must fill the rest of the file exactly; 8-byte integers must
  // be exact in double (every other element type is).
  void check_values(int64_t count, const ElementType& e) {
    const uint64_t need = static_cast<uint64_t>(count) * e.size, have = size_ - pos_;
    if (need > have)
      fail(fmt::format("truncated data: the header promises {} bytes, the file holds {}", need,
                       have));
    if (need < have) fail(fmt::format("{} bytes of trailing data after the array", have - need));
    if (e.kind == 'f' || e.size != 8) return;
    const unsigned char* values = file_->data() + pos_;
    for (int64_t i = 0; i < count; ++i)
      if (beyond_double(values + 8 * i, e))
        fail(fmt::format("element {} is an integer beyond 2^53, which a double cannot hold exactly",
                         i));
  }

  const std::string& path_;
  std::shared_ptr<const MappedFile> file_;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
};

// The v1.0 prefix and header, padded with spaces and a newline so the data
// starts at a multiple of 64 bytes, byte for byte as NumPy writes it.
std::string header_for(const std::vector<int64_t>& shape, TensorDType dtype) {
  if (shape.empty() || shape.size() > 2)
    throw std::invalid_argument("write_npy: shape must have one or two entries");
  const std::string dims = shape.size() == 1 ? fmt::format("({},)", shape[0])
                                             : fmt::format("({}, {})", shape[0], shape[1]);
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 dtype == TensorDType::f32 ? "<f4" : "<f8", dims);
  const size_t unpadded = kMagicSize + 4 + dict.size() + 1;
  dict.append(64 - unpadded % 64, ' ');  // NumPy's rule: 1..64 spaces, never 0
  dict += '\n';
  std::string out(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

template <class T>
void append_values(std::ostream& out, const T* values, int64_t count, TensorDType dtype) {
  const int item = dtype_size(dtype);
  for (int64_t i = 0; i < count; ++i) {
    unsigned char b[8];
    uint64_t bits = dtype == TensorDType::f32
                        ? std::bit_cast<uint32_t>(static_cast<float>(values[i]))
                        : std::bit_cast<uint64_t>(static_cast<double>(values[i]));
    for (int k = 0; k < item; ++k, bits >>= 8) b[k] = static_cast<unsigned char>(bits);
    out.write(reinterpret_cast<const char*>(b), item);
  }
}

template <class T>
void write_npy_values(const std::string& path, const std::vector<int64_t>& shape, const T* values,
                      TensorDType dtype) {
  const std::string header = header_for(shape, dtype);
  const int64_t count = shape.size() == 1 ? shape[0] : shape[0] * shape[1];
  write_file_atomically(path, [&](std::ostream& out) {
    out << header;
    append_values(out, values, count, dtype);
  });
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  return NpyReader(path).read();
}

std::string npy_header(const std::vector<int64_t>& shape, TensorDType dtype) {
  return header_for(shape, dtype);
}

void append_npy_values(std::ostream& out, const double* values, int64_t count, TensorDType dtype) {
  append_values(out, values, count, dtype);
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const double* values,
               TensorDType dtype) {
  write_npy_values(path, shape, values, dtype);
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* values) {
  write_npy_values(path, shape, values, TensorDType::f32);
}

}  // namespace nfc
