// Nice ticks after Heckbert, "Nice numbers for graph labels" (Graphics Gems,
// 1990): the step is rounded to 1, 2, 2.5 or 5 times a power of ten.
#include "plot/Axes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nfc {

namespace {

constexpr double kTickLength = 4;

// The centre of the pixel a coordinate falls in: 1-pixel lines stay crisp.
double snap(double v) {
  return std::floor(v) + 0.5;
}

// Rounds to the nearest nice mantissa rather than up, so a range asks for
// about `target` ticks and gets between 2/3 and 3/2 of them.
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  const double m = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
  return m * magnitude;
}

// Decimals that print every multiple of step exactly (0.25 needs 2).
int decimals_for(double step) {
  int d = 0;
  for (double scaled = step; d < 10; ++d, scaled *= 10) {
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * scaled) break;
  }
  return d;
}

double tick_step(const std::vector<double>& ticks) {
  return ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
}

void x_ticks(Canvas& canvas, const Axes& a) {
  const auto ticks = nice_ticks(a.xr, std::max(2, a.w / 80));
  const double bottom = a.y + a.h + 0.5;
  for (double t : ticks) {
    const double x = snap(a.px(t));
    canvas.line(x, bottom, x, bottom + kTickLength, kFrame);
    centered_text(canvas, x, bottom + kTickLength + 3, tick_label(t, tick_step(ticks)), kTickFont,
                  kInk);
  }
}

void y_ticks(Canvas& canvas, const Axes& a) {
  const auto ticks = nice_ticks(a.yr, std::max(2, a.h / 60));
  const double left = a.x - 0.5;
  for (double t : ticks) {
    const double y = snap(a.py(t));
    canvas.line(left - kTickLength, y, left, y, kFrame);
    const std::string label = tick_label(t, tick_step(ticks));
    const double w = Canvas::text_width(label, kTickFont);
    canvas.text(left - kTickLength - 4 - w, y - 3.5 * kTickFont, label, kTickFont, kInk);
  }
}

}  // namespace

std::vector<double> nice_ticks(Range r, int target) {
  std::vector<double> ticks;
  if (!(r.hi > r.lo) || !std::isfinite(r.hi - r.lo)) return ticks;
  const double step = nice_step((r.hi - r.lo) / std::max(target, 1));
  // Multiples of step as integers, so 0.1 * 3 prints as 0.3.
  const double first = std::ceil(r.lo / step - 1e-9);
  for (double k = first; k * step <= r.hi + step * 1e-9 && ticks.size() < 100; ++k) {
    ticks.push_back(k * step);
  }
  return ticks;
}

std::string tick_label(double v, double step) {
  const int decimals = decimals_for(step);
  if (std::abs(v) < step * 1e-6) v = 0;
  // Very large or small magnitudes read better in exponent form.
  if (std::abs(v) >= 1e6 || (v != 0 && std::abs(v) < 1e-4)) return fmt::format("{:.3g}", v);
  return fmt::format("{:.{}f}", v, decimals);
}

void draw_grid(Canvas& canvas, const Axes& a) {
  for (double t : nice_ticks(a.xr, std::max(2, a.w / 80))) {
    const double x = snap(a.px(t));
    canvas.line(x, a.y, x, a.y + a.h, kGrid);
  }
  for (double t : nice_ticks(a.yr, std::max(2, a.h / 60))) {
    const double y = snap(a.py(t));
    canvas.line(a.x, y, a.x + a.w, y, kGrid);
  }
}

void draw_frame(Canvas& canvas, const Axes& a) {
  // Lines on pixel centres just outside the area: crisp, and never on data.
  const double l = a.x - 0.5, r = a.x + a.w + 0.5, t = a.y - 0.5, b = a.y + a.h + 0.5;
  canvas.line(l, t, r, t, kFrame);
  canvas.line(l, b, r, b, kFrame);
  canvas.line(l, t, l, b, kFrame);
  canvas.line(r, t, r, b, kFrame);
  x_ticks(canvas, a);
  y_ticks(canvas, a);
}

void centered_text(Canvas& canvas, double cx, double y, const std::string& s, double scale, Rgb c,
                   double bold) {
  canvas.text(std::round(cx - (Canvas::text_width(s, scale) + bold) / 2), y, s, scale, c, bold);
}

}  // namespace nfc
