// Reading a flow's parameters from a .safetensors file (format in
// runtime/io/Safetensors.hpp) with the C++ standard library only: the C++
// source backend embeds this file in code emitted with --load-weights, so
// deployed programs read the file nfc wrote without nfc, JSON libraries or
// LLVM. It understands exactly what nfc writes and what PyTorch's
// safetensors writes for float tensors: one header object whose tensor
// entries carry "dtype" ("F32" or "F64") and "data_offsets", little-endian
// data. Shapes are not parsed; a tensor of the wrong size is an error.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace nfc {

struct WeightSlot {
  const char* name;           // the tensor's name in the file
  std::int64_t offset, size;  // where it goes in the flat parameter buffer
};

namespace weight_loader {

// The value after `"key":` inside `object`, skipping spaces; npos if absent.
inline std::size_t value_of(const std::string& object, const char* key) {
  const std::string quoted = std::string("\"") + key + "\"";
  std::size_t at = object.find(quoted);
  if (at == std::string::npos) return at;
  at = object.find(':', at + quoted.size());
  if (at == std::string::npos) return at;
  return object.find_first_not_of(" \t\r\n", at + 1);
}

// The tensor entry {...} of `name` in the header, or "" if absent. Entries
// hold no nested braces, so the first '}' closes them.
inline std::string entry_of(const std::string& header, const char* name) {
  const std::size_t open = value_of(header, name);
  if (open == std::string::npos || header[open] != '{') return {};
  const std::size_t close = header.find('}', open);
  return close == std::string::npos ? std::string() : header.substr(open, close - open + 1);
}

inline bool fail(std::string& error, const std::string& message) {
  error = message;
  return false;
}

}  // namespace weight_loader

// Fills dst[slot.offset, slot.offset + slot.size) for every slot from the
// file at `path`, converting to T. Returns false with a one-line message in
// `error` if the file cannot be read or a tensor is missing or mis-sized.
template <class T>
bool load_weights_file(const char* path, const WeightSlot* slots, std::size_t count, T* dst,
                       std::string& error) {
  using namespace weight_loader;
  const std::string where = std::string(path) + ": ";
  std::FILE* f = std::fopen(path, "rb");
  if (!f) return fail(error, where + "cannot open the file");
  unsigned char len_bytes[8];
  std::uint64_t header_len = 0;
  bool ok = std::fread(len_bytes, 1, 8, f) == 8;
  for (int i = 7; ok && i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  ok = ok && header_len < (std::uint64_t{1} << 27);
  std::string header(ok ? static_cast<std::size_t>(header_len) : 0, ' ');
  ok = ok && std::fread(&header[0], 1, header.size(), f) == header.size();
  std::vector<unsigned char> bytes;
  for (std::size_t i = 0; ok && i < count; ++i) {
    const WeightSlot& s = slots[i];
    const std::string entry = entry_of(header, s.name);
    if (entry.empty()) {
      std::fclose(f);
      return fail(error, where + "no tensor '" + s.name + "'");
    }
    const std::size_t dtype = value_of(entry, "dtype"), offsets = value_of(entry, "data_offsets");
    const bool f64 = dtype != std::string::npos && entry.compare(dtype, 5, "\"F64\"") == 0;
    const bool f32 = dtype != std::string::npos && entry.compare(dtype, 5, "\"F32\"") == 0;
    unsigned long long begin = 0, end = 0;
    if (!(f32 || f64) || offsets == std::string::npos ||
        std::sscanf(entry.c_str() + offsets, "[ %llu , %llu ]", &begin, &end) != 2) {
      std::fclose(f);
      return fail(error, where + "tensor '" + s.name + "' is not an F32/F64 tensor entry");
    }
    const std::size_t width = f64 ? 8 : 4;
    if (end < begin || end - begin != static_cast<unsigned long long>(s.size) * width) {
      std::fclose(f);
      return fail(error, where + "tensor '" + s.name + "' has the wrong size");
    }
    bytes.resize(static_cast<std::size_t>(end - begin));
    ok = std::fseek(f, static_cast<long>(8 + header_len + begin), SEEK_SET) == 0 &&
         std::fread(bytes.data(), 1, bytes.size(), f) == bytes.size();
    for (std::int64_t k = 0; ok && k < s.size; ++k) {
      std::uint64_t bits = 0;  // little-endian in the file, whatever the host
      for (std::size_t b = width; b-- > 0;) bits = bits << 8 | bytes[std::size_t(k) * width + b];
      if (f64) {
        double v;
        std::memcpy(&v, &bits, 8);
        dst[s.offset + k] = static_cast<T>(v);
      } else {
        const auto narrow = static_cast<std::uint32_t>(bits);
        float v;
        std::memcpy(&v, &narrow, 4);
        dst[s.offset + k] = static_cast<T>(v);
      }
    }
  }
  std::fclose(f);
  return ok ? true : fail(error, where + "truncated or unreadable");
}

}  // namespace nfc
