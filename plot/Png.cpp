#include "plot/Png.hpp"

#include <stb/stb_image_write.h>

#include <stdexcept>

namespace nfc {

namespace {

// stb hands the encoded bytes to a callback, in pieces.
void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<std::size_t>(size));
}

}  // namespace

std::string encode_png(const Canvas& canvas) {
  std::string png;
  if (!stbi_write_png_to_func(&append, &png, canvas.width(), canvas.height(), 3,
                              canvas.pixels().data(), canvas.width() * 3)) {
    throw std::runtime_error("cannot encode PNG");
  }
  return png;
}

}  // namespace nfc
