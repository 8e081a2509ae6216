// IDX reading, gzip through zlib.
#include "runtime/io/Idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "runtime/DataError.hpp"
#include "runtime/io/MappedFile.hpp"

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

// A file's bytes and what keeps them alive.
struct FileBytes {
  std::shared_ptr<const void> owner;
  const unsigned char* data = nullptr;
  size_t size = 0;
};

// The whole file: mapped (MappedFile.hpp) when raw, gunzipped into memory
// if its name ends in .gz. zlib's gzread reads through a gzip stream and
// reports a damaged or truncated one.
FileBytes file_bytes(const std::string& path) {
  if (!ends_with(path, ".gz")) {
    const std::shared_ptr<const MappedFile> file = MappedFile::try_open(path);
    if (!file) throw cannot_open(path);
    return {file, file->data(), file->size()};
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw cannot_open(path);
  auto out = std::make_shared<std::vector<unsigned char>>();
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
    out->insert(out->end(), chunk, chunk + n);
  }
  int code = 0;
  const std::string why = gzerror(f, &code);
  gzclose(f);
  // gzread stops quietly at a stream cut short; gzerror says so.
  if (code != Z_OK && code != Z_STREAM_END)
    throw DataError(fmt::format("{}: damaged gzip data ({})", path, why));
  return {out, out->data(), out->size()};
}

struct IdxType {
  unsigned char code;
  ElementType element;  // big-endian, as IDX stores every value
  const char* name;
};

constexpr IdxType kTypes[] = {{0x08, {'u', 1, true}, "uint8"},   {0x09, {'i', 1, true}, "int8"},
                              {0x0B, {'i', 2, true}, "int16"},   {0x0C, {'i', 4, true}, "int32"},
                              {0x0D, {'f', 4, true}, "float32"}, {0x0E, {'f', 8, true}, "float64"}};

IdxType element_type(unsigned char code, const std::string& path) {
  for (const IdxType& t : kTypes)
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

}  // namespace

bool is_idx_path(const std::string& path) {
  const std::string p = ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path;
  return ends_with(p, ".idx") || ends_with(p, "-ubyte");
}

IdxArray read_idx(const std::string& path) {
  const FileBytes file = file_bytes(path);
  const unsigned char* bytes = file.data;
  if (file.size < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw DataError(
        fmt::format("{}: not an IDX file (it does not start with two zero bytes)", path));
  const IdxType type = element_type(bytes[2], path);
  const int dims = bytes[3];
  if (dims == 0) throw DataError(fmt::format("{}: IDX header declares no dimensions", path));
  const size_t header = 4 + 4 * size_t(dims);
  if (file.size < header)
    throw DataError(
        fmt::format("{}: IDX header cut short: {} dimensions need {} bytes, the file "
                    "has {}",
                    path, dims, header, file.size));
  IdxArray a;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    a.shape.push_back(int64_t(big_endian(&bytes[4 + 4 * size_t(d)], 4)));
    count *= uint64_t(a.shape.back());
    if (count > (uint64_t(1) << 40))
      throw DataError(fmt::format("{}: IDX header declares more than 2^40 values", path));
  }
  const uint64_t size = uint64_t(type.element.size);
  if (file.size != header + count * size)
    throw DataError(
        fmt::format("{}: the IDX header promises {} {} values ({} bytes), the file "
                    "holds {} bytes after the header",
                    path, count, type.name, count * size, file.size - header));
  a.values = RowTable(int64_t(count), 1, type.element, bytes + header, file.owner);
  return a;
}

}  // namespace nfc
