// The readers under fuzz take a path, as users call them: each input is
// written to one scratch file per process (in /dev/shm when there is one, so
// no disk I/O per execution) and read back through the public API.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace nfc::fuzz {

// The scratch file's path; removed when the fuzzer exits (a static's
// destructor runs on libFuzzer's exit()).
class ScratchFile {
 public:
  explicit ScratchFile(const char* extension) {
    const std::filesystem::path dir = std::filesystem::exists("/dev/shm")
                                          ? std::filesystem::path("/dev/shm")
                                          : std::filesystem::temp_directory_path();
    path_ = (dir / ("nfc_fuzz_" + std::to_string(getpid()) + extension)).string();
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Replaces the file's contents with the input; aborts if it cannot (the
// fuzzer would otherwise test nothing).
inline void write_input(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::abort();
}

}  // namespace nfc::fuzz
