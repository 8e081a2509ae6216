#include "plot/ImageGrid.hpp"

#include <algorithm>
#include <cmath>

#include "plot/Png.hpp"
#include "runtime/io/AtomicFile.hpp"

namespace nfc {

namespace {

constexpr Rgb kGap{128, 128, 128};

uint8_t intensity(double v, double max_value) {
  if (!std::isfinite(v)) return 0;
  return static_cast<uint8_t>(std::lround(std::clamp(v / max_value, 0.0, 1.0) * 255));
}

}  // namespace

int grid_columns(int64_t n) {
  return std::max(1, static_cast<int>(std::ceil(std::sqrt(double(n)))));
}

void draw_image_grid(Canvas& canvas, int x, int y, const ImageRows& images, int columns, int zoom,
                     int gap) {
  const int h = images.shape[0], w = images.shape[1], c = images.shape[2];
  const int64_t size = int64_t{h} * w * c;
  for (int64_t i = 0; i < images.n; ++i) {
    const int tx = x + int(i % columns) * (w * zoom + gap);
    const int ty = y + int(i / columns) * (h * zoom + gap);
    const double* image = images.values + i * size;
    for (int r = 0; r < h; ++r)
      for (int col = 0; col < w; ++col) {
        const double* px = image + (int64_t{r} * w + col) * c;
        const Rgb color =
            c == 1 ? Rgb{intensity(px[0], images.max_value), intensity(px[0], images.max_value),
                         intensity(px[0], images.max_value)}
                   : Rgb{intensity(px[0], images.max_value), intensity(px[1], images.max_value),
                         intensity(px[2], images.max_value)};
        canvas.fill_rect(tx + col * zoom, ty + r * zoom, tx + (col + 1) * zoom, ty + (r + 1) * zoom,
                         color);
      }
  }
}

void write_image_grid(const std::string& path, const ImageRows& images, int zoom) {
  constexpr int kGapPx = 2;
  const int columns = grid_columns(images.n);
  const int rows = static_cast<int>((images.n + columns - 1) / columns);
  const int tile_w = images.shape[1] * zoom, tile_h = images.shape[0] * zoom;
  Canvas canvas(kGapPx + columns * (tile_w + kGapPx), kGapPx + rows * (tile_h + kGapPx), kGap);
  draw_image_grid(canvas, kGapPx, kGapPx, images, columns, zoom, kGapPx);
  write_file_atomically(path, encode_png(canvas));
}

}  // namespace nfc
