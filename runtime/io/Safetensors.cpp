#include "runtime/io/Safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <tuple>

#include "runtime/DataError.hpp"
#include "runtime/io/AtomicFile.hpp"
#include "support/Echo.hpp"

namespace nfc {
namespace {

// Written in the order given; read into a std::map, whose inserts are
// O(log N): ordered_json's are O(N), which made reading a header of 100k
// entries take a minute. HeaderScan keeps the order where it matters.
using OrderedJson = nlohmann::ordered_json;
using Json = nlohmann::json;

// The reference implementation refuses larger headers; so do we, before
// allocating anything for one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

const char* dtype_name(TensorDType dtype) {
  return dtype == TensorDType::f32 ? "F32" : "F64";
}

// Writes `bytes` little-endian bytes of `bits` at `out` (a loop the
// compiler turns into one store on a little-endian machine).
char* put_le(char* out, uint64_t bits, int bytes) {
  for (int k = 0; k < bytes; ++k, bits >>= 8) *out++ = static_cast<char>(bits & 0xff);
  return out;
}

uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

int64_t shape_product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void check_tensors(const std::vector<TensorView>& tensors) {
  std::set<std::string> names;
  for (const TensorView& t : tensors) {
    if (t.name == kMetadataKey || !names.insert(t.name).second)
      throw std::invalid_argument(fmt::format("write_safetensors: bad name '{}'", t.name));
    const bool negative = std::any_of(t.shape.begin(), t.shape.end(), [](auto d) { return d < 0; });
    if (negative || shape_product(t.shape) != static_cast<int64_t>(t.count))
      throw std::invalid_argument(fmt::format("write_safetensors: '{}': shape/size", t.name));
  }
}

// The JSON header, in the order given, padded with spaces to a multiple of 8
// so the buffer that follows the 8-byte length is 8-byte aligned.
std::string make_header(const std::vector<TensorView>& tensors, TensorDType dtype,
                        const std::map<std::string, std::string>& metadata) {
  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const TensorView& t : tensors) {
    const uint64_t end = offset + t.count * dtype_size(dtype);
    header[t.name] = {
        {"dtype", dtype_name(dtype)}, {"shape", t.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// One tensor as the header describes it, checked against itself.
struct Entry {
  std::string name;
  TensorDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// What the DOM parse forgets: the order of the top-level keys (so zero-size
// tensors sharing an offset keep the writer's order) and keys given twice in
// one object (which would silently keep one of two values). One linear SAX
// pass; nlohmann's parser callback would re-scan the parent object at every
// object end, quadratic in the tensor count.
struct HeaderScan : nlohmann::json_sax<Json> {
  std::vector<std::set<std::string>> open_objects;
  std::vector<std::string> top_level_keys;
  std::optional<std::string> duplicate;

  bool start_object(std::size_t) override {
    open_objects.emplace_back();
    return true;
  }
  bool end_object() override {
    open_objects.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!open_objects.back().insert(k).second) duplicate = k;
    if (open_objects.size() == 1) top_level_keys.push_back(k);
    return !duplicate;  // stop at the first one
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw DataError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
    in_.seekg(0);
  }

  SafetensorsFile read() {
    const std::string text = read_header_text();
    const Json header = parse_header(text);
    HeaderScan scan;
    Json::sax_parse(text, &scan);
    if (scan.duplicate)
      fail("key '{}' appears twice in one object of the header", echoed(*scan.duplicate));
    SafetensorsFile file;
    std::vector<Entry> entries;
    for (const std::string& key : scan.top_level_keys) {
      const Json& value = header.at(key);
      if (key == kMetadataKey)
        file.metadata = parse_metadata(value);
      else
        entries.push_back(parse_entry(key, value));
    }
    const uint64_t buffer_size = size_ - 8 - header_len_;
    check_layout(entries, buffer_size);
    const std::vector<unsigned char> buffer = read_bytes(buffer_size);
    file.dtype = TensorDType::f32;
    for (const Entry& e : entries) {
      if (e.dtype == TensorDType::f64) file.dtype = TensorDType::f64;
      file.tensors.push_back(decode(e, buffer));
    }
    return file;
  }

 private:
  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw DataError(fmt::format("{}: {}", path_, fmt::format(format, std::forward<Args>(args)...)));
  }

  std::vector<unsigned char> read_bytes(uint64_t n) {
    std::vector<unsigned char> bytes(n);
    if (!in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n)))
      fail("read error: {}", std::strerror(errno));
    return bytes;
  }

  std::string read_header_text() {
    if (size_ < 8) fail("file too short ({} bytes) to be a safetensors file", size_);
    header_len_ = get_le(read_bytes(8).data(), 8);
    if (header_len_ > kMaxHeaderBytes)
      fail("header length {} exceeds the 100 MB limit", header_len_);
    if (header_len_ > size_ - 8)
      fail("header length {} exceeds the file size ({} bytes)", header_len_, size_);
    const std::vector<unsigned char> bytes = read_bytes(header_len_);
    return std::string(bytes.begin(), bytes.end());
  }

  Json parse_header(const std::string& text) const {
    Json header;
    try {
      header = Json::parse(text);
    } catch (const Json::parse_error& e) {
      fail("header is not valid JSON (error at byte {})", e.byte);
    } catch (const Json::exception&) {
      // e.g. a number literal too large for a double: nlohmann reports it
      // as an out_of_range error rather than a parse error.
      fail("header is not valid JSON (a number is out of range)");
    }
    if (!header.is_object()) fail("header is not a JSON object");
    return header;
  }

  std::map<std::string, std::string> parse_metadata(const Json& value) const {
    std::map<std::string, std::string> out;
    if (value.is_null()) return out;
    if (!value.is_object()) fail("{} must map strings to strings", kMetadataKey);
    for (const auto& [key, v] : value.items()) {
      if (!v.is_string()) fail("{} must map strings to strings", kMetadataKey);
      out[key] = v.get<std::string>();
    }
    return out;
  }

  TensorDType parse_dtype(const std::string& name, const Json& v) const {
    if (!v.is_string()) fail("tensor '{}': 'dtype' must be a string", echoed(name));
    const std::string dtype = v.get<std::string>();
    if (dtype == "F32") return TensorDType::f32;
    if (dtype == "F64") return TensorDType::f64;
    fail("tensor '{}': unsupported dtype '{}' (need F32 or F64)", echoed(name), echoed(dtype));
  }

  // A list of non-negative integers (nlohmann parses those as unsigned).
  static std::optional<std::vector<uint64_t>> unsigned_list(const Json& v) {
    if (!v.is_array()) return std::nullopt;
    std::vector<uint64_t> out;
    for (const auto& x : v) {
      if (!x.is_number_unsigned()) return std::nullopt;
      out.push_back(x.get<uint64_t>());
    }
    return out;
  }

  Entry parse_entry(const std::string& name, const Json& v) const {
    if (!v.is_object()) fail("tensor '{}': entry is not a JSON object", echoed(name));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!v.contains(key)) fail("tensor '{}': missing '{}'", echoed(name), key);
    Entry e{name, parse_dtype(name, v["dtype"]), {}, 0, 0};
    const auto shape = unsigned_list(v["shape"]);
    if (!shape) fail("tensor '{}': 'shape' must be a list of non-negative integers", echoed(name));
    const auto offsets = unsigned_list(v["data_offsets"]);
    if (!offsets || offsets->size() != 2)
      fail("tensor '{}': 'data_offsets' must be two non-negative integers [begin, end]",
           echoed(name));
    e.begin = (*offsets)[0];
    e.end = (*offsets)[1];
    if (e.begin > e.end)
      fail("tensor '{}': data_offsets [{}, {}] are reversed", echoed(name), e.begin, e.end);
    check_size(e, *shape);
    return e;
  }

  // shape product x dtype size must equal end - begin. A product beyond the
  // file size is refused before it can overflow.
  void check_size(Entry& e, const std::vector<uint64_t>& shape) const {
    const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
    uint64_t bytes = empty ? 0 : dtype_size(e.dtype);
    for (uint64_t d : shape) {
      if (!empty && bytes > size_ / d)
        fail("tensor '{}': shape [{}] is larger than the file", echoed(e.name),
             fmt::join(shape, ", "));
      bytes *= d;
      e.shape.push_back(static_cast<int64_t>(d));
    }
    if (bytes != e.end - e.begin)
      fail("tensor '{}': shape [{}] needs {} bytes but data_offsets span {}", echoed(e.name),
           fmt::join(shape, ", "), bytes, e.end - e.begin);
  }

  // Tensors must tile the buffer exactly: in range, no overlap, no gap, no tail.
  void check_layout(std::vector<Entry>& entries, uint64_t buffer_size) const {
    for (const Entry& e : entries)
      if (e.end > buffer_size)
        fail("tensor '{}': data_offsets [{}, {}] lie outside the {}-byte data buffer",
             echoed(e.name), e.begin, e.end, buffer_size);
    // Stable: zero-size tensors sharing an offset keep their header order.
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    uint64_t covered = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (e.begin < covered)
        fail("tensors '{}' and '{}' overlap", echoed(entries[i - 1].name), echoed(e.name));
      if (e.begin > covered)
        fail("bytes {}..{} of the data buffer belong to no tensor", covered, e.begin);
      covered = e.end;
    }
    if (covered < buffer_size)
      fail("{} bytes of trailing data after the last tensor", buffer_size - covered);
  }

  NamedTensor decode(const Entry& e, const std::vector<unsigned char>& buffer) const {
    const int item = dtype_size(e.dtype);
    const uint64_t count = (e.end - e.begin) / item;
    NamedTensor t{e.name, e.shape, std::vector<double>(count)};
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t bits = get_le(&buffer[e.begin + i * item], item);
      t.values[i] = item == 4 ? std::bit_cast<float>(static_cast<uint32_t>(bits))
                              : std::bit_cast<double>(bits);
    }
    return t;
  }

  const std::string& path_;
  std::ifstream in_;
  uint64_t size_ = 0;
  uint64_t header_len_ = 0;
};

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       TensorDType dtype, const std::map<std::string, std::string>& metadata) {
  check_tensors(tensors);
  const std::string header = make_header(tensors, dtype, metadata);
  const int width = dtype == TensorDType::f32 ? 4 : 8;
  write_file_atomically(path, [&](std::ostream& out) {
    char length[8];
    put_le(length, header.size(), 8);
    out.write(length, 8);
    out << header;
    // Converted through a buffer of 1 MB: checkpoints of millions of
    // parameters are written at every evaluation, per value stream writes
    // are slow and a whole-file buffer would double the memory they take.
    std::vector<char> buffer(size_t(1) << 20);
    for (const TensorView& t : tensors)
      for (size_t first = 0; first < t.count;) {
        const size_t n = std::min(t.count - first, buffer.size() / size_t(width));
        char* at = buffer.data();
        std::visit(
            [&](const auto* values) {
              for (size_t i = first; i < first + n; ++i)
                at = width == 4
                         ? put_le(at, std::bit_cast<uint32_t>(static_cast<float>(values[i])), 4)
                         : put_le(at, std::bit_cast<uint64_t>(static_cast<double>(values[i])), 8);
            },
            t.values);
        out.write(buffer.data(), at - buffer.data());
        first += n;
      }
  });
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       TensorDType dtype, const std::map<std::string, std::string>& metadata) {
  std::vector<TensorView> views;
  for (const NamedTensor& t : tensors)
    views.push_back({t.name, t.shape, t.values.data(), t.values.size()});
  write_safetensors(path, views, dtype, metadata);
}

SafetensorsFile read_safetensors(const std::string& path) {
  return SafetensorsReader(path).read();
}

}  // namespace nfc
