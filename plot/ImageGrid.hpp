// Rows of a flow whose data are images ([H, W, C], channel last, values
// in [0, max_value]) drawn as a grid of tiles: `nfc sample -o FILE.png`
// and the panels of `nfc plot` for image flows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plot/Canvas.hpp"

namespace nfc {

struct ImageRows {
  const double* values = nullptr;  // n rows of H * W * C values
  int64_t n = 0;
  std::vector<int> shape;  // {H, W, C}, C 1 or 3
  // The value shown as full intensity (255 for 8-bit levels, 1 for data in
  // [0, 1]); values are clamped to [0, max_value].
  double max_value = 255;
};

// Tiles per row of a grid of n: ceil(sqrt(n)).
int grid_columns(int64_t n);

// Draws the images into the rectangle at (x, y), `columns` tiles a row,
// each pixel `zoom` canvas pixels, tiles `gap` pixels apart.
void draw_image_grid(Canvas& canvas, int x, int y, const ImageRows& images, int columns, int zoom,
                     int gap);

// The grid alone as a PNG, on a grey background with 2-pixel gaps;
// replaced atomically. Throws std::runtime_error if it cannot be written.
void write_image_grid(const std::string& path, const ImageRows& images, int zoom = 2);

}  // namespace nfc
