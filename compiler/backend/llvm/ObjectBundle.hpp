// The machine code of one JitModule as bytes, for the JIT cache: each entry
// point's relocatable objects (one, or one per partition of its segments:
// Segments.hpp), its name and workspace, and the SIMD widths
// the code was generated for. decode() trusts nothing: a truncated or
// garbled text is nullopt, never a crash (the cache is data from disk).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfc {

struct ObjectBundle {
  struct Entry {
    std::string name;
    int64_t workspace_bytes = 0;
    std::vector<std::string> objects;  // ELF relocatable objects; the first defines the entry
  };
  int gradient_width = 1, map_width = 1;  // JitModule::gradient_width(), vector_width()
  int64_t small_batch_rows = 0;           // JitModule::small_batch_rows(), measured once
  std::vector<Entry> entries;
};

std::string encode(const ObjectBundle& bundle);
std::optional<ObjectBundle> decode(std::string_view bytes);

}  // namespace nfc
