// A plot area on a Canvas with data ranges on both axes: maps data to
// pixels and draws the frame, ticks with numeric labels and light grid lines.
// Tick positions are "nice" numbers (1, 2, 2.5 or 5 times a power of ten).
#pragma once

#include <string>
#include <vector>

#include "plot/Canvas.hpp"

namespace nfc {

struct Range {
  double lo = 0, hi = 1;
};

// Font scales used across a figure, so all panels read alike.
inline constexpr double kTickFont = 1.5;
inline constexpr double kPanelTitleFont = 2;
inline constexpr double kTitleFont = 2.5;
inline constexpr Rgb kInk = {40, 40, 40};
inline constexpr Rgb kFrame = {110, 110, 110};
inline constexpr Rgb kGrid = {232, 232, 232};

// Callers keep both ranges non-empty (hi > lo).
struct Axes {
  int x = 0, y = 0, w = 0, h = 0;  // the plot area in pixels, frame outside it
  Range xr, yr;

  double px(double vx) const { return x + (vx - xr.lo) / (xr.hi - xr.lo) * w; }
  double py(double vy) const { return y + (yr.hi - vy) / (yr.hi - yr.lo) * h; }
};

// About `target` ticks inside r, at multiples of a nice step.
std::vector<double> nice_ticks(Range r, int target);
// Enough decimals to tell ticks `step` apart, no more; never "-0".
std::string tick_label(double v, double step);

// Grid lines behind the data (call before drawing it) and the frame with
// ticks and labels (call after, so data never hides them).
void draw_grid(Canvas& canvas, const Axes& axes);
void draw_frame(Canvas& canvas, const Axes& axes);

// Text centred horizontally on cx.
void centered_text(Canvas& canvas, double cx, double y, const std::string& s, double scale, Rgb c,
                   double bold = 0);

}  // namespace nfc
