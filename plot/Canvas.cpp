// Anti-aliasing by coverage: each primitive computes, per pixel, how much of
// it the shape covers (exactly for rectangles, from the distance to the shape
// for lines and dots) and blends with that weight.
#include "plot/Canvas.hpp"

#include <algorithm>
#include <cmath>

// stb_easy_font is a header of static functions; we use only some of them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace nfc {

namespace {

double clamp01(double v) {
  return std::clamp(v, 0.0, 1.0);
}

// Length of [a, b) inside the pixel span [p, p + 1).
double overlap(double a, double b, int p) {
  return std::max(0.0, std::min(b, p + 1.0) - std::max(a, static_cast<double>(p)));
}

double distance_to_segment(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0;
  const double len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? clamp01(((px - x0) * dx + (py - y0) * dy) / len2) : 0;
  return std::hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

int to_pixel(double v, int lo, int hi) {
  return static_cast<int>(std::floor(std::clamp(v, double(lo), double(hi))));
}

// Decodes one UTF-8 sequence starting at s[i] to something the font has.
char ascii_for(std::string_view s, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(s[i++]);
  if (lead < 0x80) return lead >= 32 && lead < 127 ? static_cast<char>(lead) : ' ';
  const int extra = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
  uint32_t code = lead & (0x3f >> extra);
  for (int k = 0; k < extra && i < s.size(); ++k) code = (code << 6) | (s[i++] & 0x3f);
  switch (code) {
    case 0x2013:  // en dash
    case 0x2014:  // em dash
    case 0x2212:  // minus sign
      return '-';
    case 0x00d7:  // multiplication sign
      return 'x';
    default:
      return '?';
  }
}

std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) out += ascii_for(s, i);
  return out;
}

}  // namespace

Canvas::Canvas(int width, int height, Rgb background)
    : width_(std::max(width, 1)),
      height_(std::max(height, 1)),
      pixels_(static_cast<std::size_t>(width_) * height_ * 3) {
  for (std::size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
  reset_clip();
}

Rgb Canvas::at(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return {};
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Canvas::set_clip(int x0, int y0, int x1, int y1) {
  clip_x0_ = std::clamp(x0, 0, width_);
  clip_y0_ = std::clamp(y0, 0, height_);
  clip_x1_ = std::clamp(x1, clip_x0_, width_);
  clip_y1_ = std::clamp(y1, clip_y0_, height_);
}

void Canvas::blend(int x, int y, Rgb c, double alpha) {
  if (x < clip_x0_ || y < clip_y0_ || x >= clip_x1_ || y >= clip_y1_) return;
  if (!(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  uint8_t* p = &pixels_[(static_cast<std::size_t>(y) * width_ + x) * 3];
  auto mix = [alpha](uint8_t under, uint8_t over) {
    return static_cast<uint8_t>(std::lround(under + alpha * (over - under)));
  };
  p[0] = mix(p[0], c.r);
  p[1] = mix(p[1], c.g);
  p[2] = mix(p[2], c.b);
}

void Canvas::fill_rect(double x0, double y0, double x1, double y1, Rgb c, double alpha) {
  if (!(x1 > x0 && y1 > y0)) return;
  const int px0 = to_pixel(x0, clip_x0_, clip_x1_), px1 = to_pixel(x1 + 1, clip_x0_, clip_x1_);
  const int py0 = to_pixel(y0, clip_y0_, clip_y1_), py1 = to_pixel(y1 + 1, clip_y0_, clip_y1_);
  for (int y = py0; y < py1; ++y) {
    const double cy = overlap(y0, y1, y);
    for (int x = px0; x < px1; ++x) blend(x, y, c, alpha * cy * overlap(x0, x1, x));
  }
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb c, double width, double alpha) {
  if (!std::isfinite(x0 + y0 + x1 + y1)) return;
  const double half = width / 2;
  const double pad = half + 1;
  // Clamp in double before converting: a curve point far off-canvas would
  // overflow int.
  const int px0 = to_pixel(std::min(x0, x1) - pad, clip_x0_, clip_x1_);
  const int py0 = to_pixel(std::min(y0, y1) - pad, clip_y0_, clip_y1_);
  const int px1 = to_pixel(std::max(x0, x1) + pad + 1, clip_x0_, clip_x1_);
  const int py1 = to_pixel(std::max(y0, y1) + pad + 1, clip_y0_, clip_y1_);
  for (int y = py0; y < py1; ++y) {
    for (int x = px0; x < px1; ++x) {
      const double d = distance_to_segment(x + 0.5, y + 0.5, x0, y0, x1, y1);
      blend(x, y, c, alpha * clamp01(half + 0.5 - d));
    }
  }
}

void Canvas::dot(double cx, double cy, double radius, Rgb c, double alpha) {
  line(cx, cy, cx, cy, c, 2 * radius, alpha);
}

void Canvas::text(double x, double y, std::string_view s, double scale, Rgb c, double bold) {
  std::string ascii = printable(s);
  // 4 vertices of 16 bytes per quad; no glyph has more than ~12 quads.
  std::vector<char> quads(ascii.size() * 16 * 64 + 64);
  const int n = stb_easy_font_print(0, 0, ascii.data(), nullptr, quads.data(),
                                    static_cast<int>(quads.size()));
  for (int q = 0; q < n; ++q) {
    const auto* v = reinterpret_cast<const float*>(&quads[static_cast<std::size_t>(q) * 64]);
    // Vertices are (x, y, z, rgba) at a stride of 4 floats; the quads are
    // axis-aligned, so opposite corners 0 and 2 define each one.
    fill_rect(x + v[0] * scale, y + v[1] * scale, x + v[8] * scale + bold, y + v[9] * scale + bold,
              c);
  }
}

double Canvas::text_width(std::string_view s, double scale) {
  std::string ascii = printable(s);
  // The advance includes one unit of spacing after the last glyph.
  return ascii.empty() ? 0 : (stb_easy_font_width(ascii.data()) - 1) * scale;
}

}  // namespace nfc
