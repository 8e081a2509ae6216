// Perceptual colormap for heat maps: viridis (matplotlib's default), as nine
// stops interpolated linearly. Viridis is monotone in lightness, so "brighter"
// always means "denser", also in greyscale and for colour-blind readers.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "plot/Canvas.hpp"

namespace nfc {

// t in [0, 1]: 0 = dark purple (low), 1 = yellow (high). NaN maps to 0.
inline Rgb viridis(double t) {
  static constexpr std::array<Rgb, 9> kStops = {{{0x44, 0x01, 0x54},
                                                 {0x47, 0x2d, 0x7b},
                                                 {0x3b, 0x52, 0x8b},
                                                 {0x2c, 0x72, 0x8e},
                                                 {0x21, 0x90, 0x8c},
                                                 {0x27, 0xad, 0x81},
                                                 {0x5d, 0xc8, 0x63},
                                                 {0xaa, 0xdc, 0x32},
                                                 {0xfd, 0xe7, 0x25}}};
  if (!(t > 0)) return kStops.front();
  if (t >= 1) return kStops.back();
  const double pos = t * (kStops.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double f = pos - static_cast<double>(i);
  const Rgb a = kStops[i], b = kStops[i + 1];
  auto mix = [f](uint8_t u, uint8_t v) {
    return static_cast<uint8_t>(std::lround(u + f * (static_cast<double>(v) - u)));
  };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

}  // namespace nfc
