// One writer per output: two `nfc train` runs given the same --out would
// overwrite each other's checkpoints and both exit 0, one having silently
// lost its work. The first takes an advisory lock (flock) on `path.lock`;
// the second is refused, naming the first's pid. The kernel drops the lock
// when its holder dies however it dies, so a killed run never blocks the
// next one.
#pragma once

#include <string>

namespace nfc {

class OutputLock {
 public:
  // Locks `path` or throws DataError: "'p.safetensors' is in use by another
  // nfc train (pid 1234)", or "cannot write 'p.safetensors.lock': <strerror>".
  explicit OutputLock(const std::string& path);
  ~OutputLock();  // removes the lock file, then releases it
  OutputLock(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  OutputLock& operator=(OutputLock&&) = delete;

 private:
  std::string lock_path_;
  int fd_ = -1;
};

}  // namespace nfc
