#include "driver/JitCache.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "BuildId.hpp"
#include "runtime/Hash.hpp"
#include "runtime/io/AtomicFile.hpp"

namespace nfc {
namespace {

namespace fs = std::filesystem;

// An entry's file: this line, the key, the payload's checksum, then the
// payload (an ObjectBundle).
constexpr std::string_view kHeader = "nfc-jit-cache-1\n";
constexpr std::string_view kSuffix = ".nfcjit";

// Whether only this user can write into `dir` (or it does not exist yet):
// nfc runs the code it loads from there, so a folder others may write into
// is no cache.
bool private_dir(const fs::path& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return errno == ENOENT;
  return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

// 128 bits as 32 hex digits: FNV-1a from two offset bases. The key and the
// checksum of an entry; not cryptographic (the folder is the user's alone).
std::string hash128(std::string_view bytes) {
  return hex64(fnv1a64(bytes)) + hex64(fnv1a64(bytes, 0x84222325cbf29ce4ULL));
}

}  // namespace

DiskObjectStore::DiskObjectStore(fs::path dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {}

fs::path DiskObjectStore::path_of(const std::string& key) const {
  return dir_ / (key + std::string(kSuffix));
}

std::optional<std::string> DiskObjectStore::load(const std::string& key) {
  if (!private_dir(dir_)) return std::nullopt;
  const fs::path path = path_of(key);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  const std::string head = std::string(kHeader) + key + "\n";
  const size_t sum_end = head.size() + 32;
  if (all.size() < sum_end + 1 || all.compare(0, head.size(), head) != 0 || all[sum_end] != '\n')
    return std::nullopt;
  std::string payload = all.substr(sum_end + 1);
  if (all.compare(head.size(), 32, hash128(payload)) != 0) return std::nullopt;
  std::error_code ignored;  // recently used: last to be evicted
  fs::last_write_time(path, fs::file_time_type::clock::now(), ignored);
  return payload;
}

void DiskObjectStore::store(const std::string& key, std::string_view bytes) {
  try {
    // A folder it makes is the user's alone, whatever the umask.
    if (fs::create_directories(dir_)) fs::permissions(dir_, fs::perms::owner_all);
    if (!private_dir(dir_)) return;
    const fs::path path = path_of(key);
    write_file_atomically(path.string(), std::string(kHeader) + key + "\n" + hash128(bytes) + "\n" +
                                             std::string(bytes));
    evict(path);
  } catch (const std::exception&) {  // best effort (DataError, filesystem_error)
  }
}

// The oldest entries (by last use) go until the rest fit in max_bytes_;
// `keep`, just written, stays.
void DiskObjectStore::evict(const fs::path& keep) {
  struct Entry {
    fs::path path;
    fs::file_time_type used;
    uint64_t bytes;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code error;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, error)) {
    if (e.path().extension() != kSuffix) continue;
    std::error_code bad;
    const uint64_t bytes = e.file_size(bad);
    const fs::file_time_type used = e.last_write_time(bad);
    if (bad) continue;  // gone meanwhile: another process evicted it
    entries.push_back({e.path(), used, bytes});
    total += bytes;
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& e : entries) {
    if (total <= max_bytes_) break;
    if (e.path == keep) continue;
    std::error_code ignored;
    if (fs::remove(e.path, ignored)) total -= e.bytes;
  }
}

ObjectStore* default_object_store() {
  static const std::unique_ptr<DiskObjectStore> store = []() -> std::unique_ptr<DiskObjectStore> {
    fs::path dir;
    if (const char* d = std::getenv("NFC_CACHE_DIR"); d && *d) {
      if (std::string_view(d) == "off") return nullptr;
      dir = d;
    } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
      dir = fs::path(x) / "nfc";
    } else if (const char* h = std::getenv("HOME"); h && *h) {
      dir = fs::path(h) / ".cache" / "nfc";
    } else {
      return nullptr;
    }
    uint64_t mb = 512;
    if (const char* m = std::getenv("NFC_CACHE_MAX_MB"); m && *m) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(m, &end, 10);
      if (*end == '\0') mb = v;
    }
    return std::make_unique<DiskObjectStore>(dir, mb << 20);
  }();
  return store.get();
}

std::string jit_cache_key(std::string_view program, const JitOptions& options) {
  const std::string described = fmt::format(
      "build {}\nhost {}\ntarget {}\nprecision {} opt {} vector_math {} map_vectors {} "
      "gradient_vectors {} small_batch {}\n",
      kBuildId, JitModule::host_id(), options.target_cpu,
      options.precision == Precision::f32 ? "f32" : "f64", options.opt_level, options.vector_math,
      options.map_vectors, options.gradient_vectors, options.small_batch_entry);
  return hash128(described + std::string(program));
}

}  // namespace nfc
