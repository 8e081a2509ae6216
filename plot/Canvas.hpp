// An RGB raster to draw figures on: anti-aliased rectangles, lines and dots
// blended over what is already there, and text in stb_easy_font's small
// vector font scaled to any size. Coordinates are pixels, y down; pixel
// (x, y) covers [x, x+1) x [y, y+1). Everything honours a clip rectangle, so
// callers can draw curves that leave a plot area without clipping them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nfc {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  // Row-major RGB, 3 bytes a pixel.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  Rgb at(int x, int y) const;

  // Drawing outside [x0, x1) x [y0, y1) is dropped until reset_clip().
  void set_clip(int x0, int y0, int x1, int y1);
  void reset_clip() { set_clip(0, 0, width_, height_); }

  // Mixes `c` into pixel (x, y) with weight alpha in [0, 1].
  void blend(int x, int y, Rgb c, double alpha);
  void fill_rect(double x0, double y0, double x1, double y1, Rgb c, double alpha = 1);
  void line(double x0, double y0, double x1, double y1, Rgb c, double width = 1, double alpha = 1);
  void dot(double cx, double cy, double radius, Rgb c, double alpha = 1);

  // Text with its top-left corner at (x, y); stb_easy_font's glyphs are 7
  // units tall (descenders reach 9), each unit `scale` pixels. Characters
  // outside printable ASCII are replaced (an em dash becomes '-'). `bold`
  // thickens every stroke by that many pixels.
  void text(double x, double y, std::string_view s, double scale, Rgb c, double bold = 0);
  static double text_width(std::string_view s, double scale);

 private:
  int width_, height_;
  int clip_x0_ = 0, clip_y0_ = 0, clip_x1_ = 0, clip_y1_ = 0;
  std::vector<uint8_t> pixels_;
};

}  // namespace nfc
