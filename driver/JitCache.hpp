// The JIT cache: the machine code of a compiled model kept on disk, so that
// a second `nfc train` (or Model::compile) of the same model skips LLVM's
// optimisation and code generation (nearly all of compile time) and starts
// computing after the front end and the graph stages.
//
// The key covers everything that decides the code: nfc's build (the hash of
// the compiler's sources, generated/BuildId.hpp), the model's text, a
// target's text and data tables, the JIT options, the host CPU (name and
// features) and LLVM's version. Entries are written atomically (a reader
// never sees half of one: safe under concurrent processes), carry a
// checksum (a damaged one is ignored and rebuilt), and the directory is kept
// under a size bound, the least recently used entries going first. A
// directory other users may write into is not used: nfc runs what it
// loads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/backend/llvm/Jit.hpp"

namespace nfc {

class DiskObjectStore final : public ObjectStore {
 public:
  // Entries live in `dir` (created when first needed); at most `max_bytes`
  // of them are kept.
  DiskObjectStore(std::filesystem::path dir, uint64_t max_bytes);

  // The bytes stored under `key`; nullopt if there are none or they are
  // damaged. A hit marks the entry as recently used.
  std::optional<std::string> load(const std::string& key) override;
  // Best effort: a cache that cannot be written (no space, no permission)
  // is no error, only a slower next run.
  void store(const std::string& key, std::string_view bytes) override;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path path_of(const std::string& key) const;
  void evict(const std::filesystem::path& keep);

  std::filesystem::path dir_;
  uint64_t max_bytes_;
};

// The cache nfc uses unless told not to (--no-cache): the directory
// NFC_CACHE_DIR, else $XDG_CACHE_HOME/nfc, else $HOME/.cache/nfc, holding at
// most NFC_CACHE_MAX_MB megabytes (default 512). Null when NFC_CACHE_DIR is
// "off" or no directory can be named.
ObjectStore* default_object_store();

// The key of a model's objects under `options` (JitOptions::cache_key):
// `program` is what determines the program (driver/Pipeline.cpp: the model
// text, the target's text and tables); nfc's build, the options, the CPU
// and LLVM's version are added here.
std::string jit_cache_key(std::string_view program, const JitOptions& options);

}  // namespace nfc
