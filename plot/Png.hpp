// PNG encoding of a Canvas (stb_image_write, linked from libstb).
#pragma once

#include <string>

#include "plot/Canvas.hpp"

namespace nfc {

// The bytes of a PNG file; throws std::runtime_error if encoding fails.
std::string encode_png(const Canvas& canvas);

}  // namespace nfc
