// IDX reading, gzip through zlib.
#include "runtime/io/Idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "runtime/DataError.hpp"

namespace nfc {

namespace {

bool ends_with(const std::string& s, std::string_view end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// "x.idx: cannot open: No such file or directory", naming the Debian
// package that installs a file of its folder when there is one.
DataError cannot_open(const std::string& path) {
  const std::string why = std::strerror(errno);
  constexpr std::string_view kFashion = "/usr/share/datasets/fashion-mnist/";
  if (path.starts_with(kFashion))
    return DataError(
        fmt::format("{}: cannot open: {} (Fashion-MNIST comes with the Debian package "
                    "dataset-fashion-mnist: scripts/install-deps.sh "
                    "dataset-fashion-mnist)",
                    path, why));
  return DataError(fmt::format("{}: cannot open: {}", path, why));
}

// The whole file, gunzipped if its name ends in .gz. zlib's gzread reads
// through a gzip stream and reports a damaged or truncated one.
std::vector<unsigned char> file_bytes(const std::string& path) {
  if (!ends_with(path, ".gz")) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw cannot_open(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw cannot_open(path);
  std::vector<unsigned char> out;
  unsigned char chunk[1 << 16];
  for (;;) {
    const int n = gzread(f, chunk, sizeof chunk);
    if (n < 0 || (n == 0 && !gzeof(f))) {
      int code = 0;
      const std::string why = gzerror(f, &code);
      gzclose(f);
      throw DataError(fmt::format("{}: damaged gzip data ({})", path, why));
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  int code = 0;
  const std::string why = gzerror(f, &code);
  gzclose(f);
  // gzread stops quietly at a stream cut short; gzerror says so.
  if (code != Z_OK && code != Z_STREAM_END)
    throw DataError(fmt::format("{}: damaged gzip data ({})", path, why));
  return out;
}

struct ElementType {
  unsigned char code;
  int size;
  const char* name;
};

constexpr ElementType kTypes[] = {{0x08, 1, "uint8"}, {0x09, 1, "int8"},    {0x0B, 2, "int16"},
                                  {0x0C, 4, "int32"}, {0x0D, 4, "float32"}, {0x0E, 8, "float64"}};

ElementType element_type(unsigned char code, const std::string& path) {
  for (const ElementType& t : kTypes)
    if (t.code == code) return t;
  throw DataError(
      fmt::format("{}: IDX type byte 0x{:02x} is none of 0x08 (uint8), 0x09, 0x0B, "
                  "0x0C, 0x0D, 0x0E",
                  path, code));
}

uint64_t big_endian(const unsigned char* p, int size) {
  uint64_t v = 0;
  for (int i = 0; i < size; ++i) v = v << 8 | p[i];
  return v;
}

double value_at(const unsigned char* p, unsigned char type) {
  const uint64_t bits = big_endian(p, element_type(type, "").size);
  switch (type) {
    case 0x08:
      return double(uint8_t(bits));
    case 0x09:
      return double(int8_t(uint8_t(bits)));
    case 0x0B:
      return double(int16_t(uint16_t(bits)));
    case 0x0C:
      return double(int32_t(uint32_t(bits)));
    case 0x0D: {
      const uint32_t b = uint32_t(bits);
      float f;
      std::memcpy(&f, &b, 4);
      return double(f);
    }
    default: {
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
}

}  // namespace

bool is_idx_path(const std::string& path) {
  const std::string p = ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path;
  return ends_with(p, ".idx") || ends_with(p, "-ubyte");
}

IdxArray read_idx(const std::string& path) {
  const std::vector<unsigned char> bytes = file_bytes(path);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw DataError(
        fmt::format("{}: not an IDX file (it does not start with two zero bytes)", path));
  const ElementType type = element_type(bytes[2], path);
  const int dims = bytes[3];
  if (dims == 0) throw DataError(fmt::format("{}: IDX header declares no dimensions", path));
  const size_t header = 4 + 4 * size_t(dims);
  if (bytes.size() < header)
    throw DataError(
        fmt::format("{}: IDX header cut short: {} dimensions need {} bytes, the file "
                    "has {}",
                    path, dims, header, bytes.size()));
  IdxArray a;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    a.shape.push_back(int64_t(big_endian(&bytes[4 + 4 * size_t(d)], 4)));
    count *= uint64_t(a.shape.back());
    if (count > (uint64_t(1) << 40))
      throw DataError(fmt::format("{}: IDX header declares more than 2^40 values", path));
  }
  const uint64_t expected = header + count * uint64_t(type.size);
  if (bytes.size() != expected)
    throw DataError(
        fmt::format("{}: the IDX header promises {} {} values ({} bytes), the file "
                    "holds {} bytes after the header",
                    path, count, type.name, count * uint64_t(type.size), bytes.size() - header));
  a.values.resize(size_t(count));
  for (size_t i = 0; i < a.values.size(); ++i)
    a.values[i] = value_at(&bytes[header + i * size_t(type.size)], bytes[2]);
  return a;
}

}  // namespace nfc
