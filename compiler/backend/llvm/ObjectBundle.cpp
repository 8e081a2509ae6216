#include "compiler/backend/llvm/ObjectBundle.hpp"

namespace nfc {
namespace {

// Little-endian fixed-width integers and length-prefixed strings.
void put(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
void put(std::string& out, std::string_view s) {
  put(out, uint64_t(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool read(uint64_t& v) {
    if (rest_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i)
      v |= uint64_t(static_cast<unsigned char>(rest_[size_t(i)])) << (8 * i);
    rest_.remove_prefix(8);
    return true;
  }
  bool read(std::string& s) {
    uint64_t n = 0;
    if (!read(n) || n > rest_.size()) return false;
    s.assign(rest_.substr(0, size_t(n)));
    rest_.remove_prefix(size_t(n));
    return true;
  }
  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

constexpr std::string_view kMagic = "nfc-objects-3";
constexpr uint64_t kMaxEntries = 64, kMaxObjects = 256, kMaxWidth = 1024;

bool is_elf(std::string_view object) {
  return object.size() >= 4 && object.substr(0, 4) ==
                                   "\x7f"
                                   "ELF";
}

}  // namespace

std::string encode(const ObjectBundle& bundle) {
  std::string out;
  put(out, kMagic);
  put(out, uint64_t(bundle.gradient_width));
  put(out, uint64_t(bundle.map_width));
  put(out, uint64_t(bundle.small_batch_rows));
  put(out, uint64_t(bundle.entries.size()));
  for (const ObjectBundle::Entry& e : bundle.entries) {
    put(out, e.name);
    put(out, uint64_t(e.workspace_bytes));
    put(out, uint64_t(e.objects.size()));
    for (const std::string& object : e.objects) put(out, object);
  }
  return out;
}

std::optional<ObjectBundle> decode(std::string_view bytes) {
  Reader in(bytes);
  std::string magic;
  uint64_t width = 0, map_width = 0, small_batch_rows = 0, count = 0;
  if (!in.read(magic) || magic != kMagic || !in.read(width) || !in.read(map_width) ||
      !in.read(small_batch_rows) || !in.read(count))
    return std::nullopt;
  if (width < 1 || width > kMaxWidth || map_width < 1 || map_width > kMaxWidth ||
      small_batch_rows > map_width || count < 1 || count > kMaxEntries)
    return std::nullopt;
  ObjectBundle bundle{int(width), int(map_width), int64_t(small_batch_rows), {}};
  for (uint64_t i = 0; i < count; ++i) {
    ObjectBundle::Entry e;
    uint64_t workspace = 0, objects = 0;
    if (!in.read(e.name) || e.name.empty() || !in.read(workspace) ||
        workspace > (uint64_t(1) << 40) || !in.read(objects) || objects < 1 ||
        objects > kMaxObjects)
      return std::nullopt;
    for (uint64_t k = 0; k < objects; ++k) {
      e.objects.emplace_back();
      if (!in.read(e.objects.back()) || !is_elf(e.objects.back())) return std::nullopt;
    }
    e.workspace_bytes = int64_t(workspace);
    bundle.entries.push_back(std::move(e));
  }
  if (!in.at_end()) return std::nullopt;
  return bundle;
}

}  // namespace nfc
