#include "runtime/io/Fingerprint.hpp"

#include <fmt/format.h>

#include "runtime/Hash.hpp"
#include "runtime/io/MappedFile.hpp"

namespace nfc {

std::string file_fingerprint(const std::string& path) {
  const auto file = MappedFile::open(path);
  constexpr size_t kPiece = 4096, kPieces = 66;  // first, 64 between, last
  const size_t size = file->size();
  const auto* bytes = reinterpret_cast<const char*>(file->data());
  uint64_t hash = kFnvOffsetBasis;
  auto add = [&](size_t first, size_t n) { hash = fnv1a64({bytes + first, n}, hash); };
  if (size <= kPiece * kPieces)
    add(0, size);
  else
    for (size_t k = 0; k < kPieces; ++k) add((size - kPiece) * k / (kPieces - 1), kPiece);
  return fmt::format("{} bytes, sampled hash {}", size, hex64(hash));
}

}  // namespace nfc
