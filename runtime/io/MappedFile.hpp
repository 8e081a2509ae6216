// A whole file mapped read-only into memory: data files are read in place,
// through the page cache, instead of being copied into the process (a
// 1 GB .npy costs the process nothing until its pages are touched, and
// processes on one machine share them).
//
// The file must not be shrunk while mapped: reading a page past its new
// end kills the process (SIGBUS), as with numpy.memmap.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace nfc {

class MappedFile {
 public:
  // Throws DataError "cannot open 'path': <strerror>" (the words of every
  // reader) if the file cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  // Null, with errno saying why, for readers with words of their own.
  static std::shared_ptr<const MappedFile> try_open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const unsigned char* data_ = nullptr;  // null for an empty file
  size_t size_ = 0;
};

}  // namespace nfc
