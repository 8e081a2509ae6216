// A 64-bit FNV-1a hash, used to fingerprint a model's source text in
// checkpoint metadata. Not cryptographic: it only has to notice that a
// checkpoint was trained from a different model, and it must give the same
// value on every machine and standard library (std::hash does not).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nfc {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;

// `h`: the hash of what came before, to hash pieces as one text.
inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = kFnvOffsetBasis) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV prime
  }
  return h;
}

// 16 lowercase hex digits, zero-padded, so the text has a fixed width.
inline std::string hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[i] = kDigits[value & 0xf];
  return out;
}

}  // namespace nfc
