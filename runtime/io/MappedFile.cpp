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

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const auto fail = [&] {
    return DataError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail();
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const DataError e = fail();
    ::close(fd);
    throw e;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    throw fail();
  }
  std::shared_ptr<MappedFile> file(new MappedFile);
  file->size_ = size_t(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const DataError e = fail();
      ::close(fd);
      throw e;
    }
    file->data_ = static_cast<const unsigned char*>(p);
  }
  ::close(fd);  // the mapping keeps the file open
  return file;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace nfc
