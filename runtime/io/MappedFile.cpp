#include "runtime/io/MappedFile.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/DataError.hpp"

namespace nfc {

std::shared_ptr<const MappedFile> MappedFile::try_open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  std::shared_ptr<MappedFile> file(new MappedFile);
  int error = 0;
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    error = errno;
  } else if (!S_ISREG(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  } else if (st.st_size > 0) {
    void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      error = errno;
    } else {
      file->data_ = static_cast<const unsigned char*>(p);
      file->size_ = size_t(st.st_size);
    }
  }
  ::close(fd);  // the mapping keeps the file open
  if (error == 0) return file;
  errno = error;
  return nullptr;
}

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  if (auto file = try_open(path)) return file;
  throw DataError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace nfc
