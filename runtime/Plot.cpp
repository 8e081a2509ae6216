// Draws FlowPlot: layout first (pure arithmetic, shared with the tests), then
// one function per panel. Degenerate input (no points, no curves, NaN in the
// density, constant values) draws an empty panel with a note, never fails.
#include "runtime/Plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "runtime/AtomicFile.hpp"
#include "runtime/Axes.hpp"
#include "runtime/Canvas.hpp"
#include "runtime/Colormap.hpp"
#include "runtime/Png.hpp"

namespace nfc {

namespace {

constexpr Rgb kWhite = {255, 255, 255};
constexpr Rgb kDataColor = {31, 119, 180};      // matplotlib's tab:blue
constexpr Rgb kSampleColor = {214, 39, 40};     // tab:red: the model's output
constexpr Rgb kInvalidColor = {200, 200, 200};  // NaN density: visibly "no value"
constexpr Rgb kNoteColor = {150, 150, 150};
// Matplotlib's tab10 cycle for loss curves.
constexpr std::array<Rgb, 6> kCurveColors = {
    {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189}, {140, 86, 75}}};

// Pixel budget around the panels.
constexpr int kLabelSpace = 58;  // left of each panel: y tick labels
constexpr int kPanelGap = 22;    // between a panel's right edge and the next label space
constexpr int kColorbarGap = 10, kColorbarWidth = 14, kColorbarLabels = 64;
// Smaller panels cannot fit their tick labels; larger ones are a mistake.
constexpr int kMinPanel = 120, kMaxPanel = 4096;
constexpr int kTitleSpace = 52, kPanelTitleSpace = 30, kBottomSpace = 46, kRightSpace = 24;

// ---- the box shared by the data, density and sample panels ----

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

// 0.5% and 99.5% quantiles of both coordinates, so a few outliers cannot
// shrink the interesting part to a corner; padded 10% on each side.
Range robust_box(const Points2& points) {
  std::vector<double> xs, ys;
  for (std::size_t i = 0; i + 1 < points.xy.size(); i += 2) {
    if (!std::isfinite(points.xy[i]) || !std::isfinite(points.xy[i + 1])) continue;
    xs.push_back(points.xy[i]);
    ys.push_back(points.xy[i + 1]);
  }
  if (xs.empty()) return {-3, 3};
  std::sort(xs.begin(), xs.end());
  std::sort(ys.begin(), ys.end());
  const double lo = std::min(quantile(xs, 0.005), quantile(ys, 0.005));
  const double hi = std::max(quantile(xs, 0.995), quantile(ys, 0.995));
  const double pad = hi > lo ? 0.1 * (hi - lo) : 1 + 0.1 * std::abs(lo);
  return {lo - pad, hi + pad};
}

Range plot_box(const FlowPlot& plot) {
  if (plot.hi > plot.lo && std::isfinite(plot.hi - plot.lo)) return {plot.lo, plot.hi};
  return robust_box(plot.data.xy.size() >= 2 ? plot.data : plot.samples);
}

Axes box_axes(const PixelRect& r, Range box) {
  return {r.x, r.y, r.w, r.h, box, box};
}

bool finite_pair(const Points2& p, std::size_t i) {
  return std::isfinite(p.xy[2 * i]) && std::isfinite(p.xy[2 * i + 1]);
}

std::size_t finite_count(const Points2& p) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < p.xy.size() / 2; ++i) n += finite_pair(p, i);
  return n;
}

// The preferred scale, or smaller if that would not fit in `width`.
double fitted_scale(const std::string& s, double preferred, double width) {
  const double w = Canvas::text_width(s, 1);
  return w > 0 ? std::min(preferred, width / w) : preferred;
}

void panel_title(Canvas& canvas, const PixelRect& r, const std::string& title) {
  const double y = r.y - kPanelTitleSpace + 6;
  const double scale = fitted_scale(title, kPanelTitleFont, r.w);
  centered_text(canvas, r.x + r.w / 2.0, y, title, scale, kInk, 0.5);
}

// A note over an empty or invalid panel, on a white patch so it stays
// readable over whatever is drawn there.
void note(Canvas& canvas, const PixelRect& r, const std::string& text) {
  const double scale = fitted_scale(text, kPanelTitleFont, r.w - 16);
  const double w = Canvas::text_width(text, scale), h = 7 * scale;
  const double x = r.x + (r.w - w) / 2, y = r.y + (r.h - h) / 2;
  canvas.fill_rect(x - 6, y - 5, x + w + 6, y + h + 5, kWhite, 0.85);
  canvas.text(x, y, text, scale, kNoteColor);
}

// ---- scatter panels ----

// Dense clouds need fainter dots to show where they are densest.
double dot_alpha(std::size_t n) {
  return std::clamp(25.0 / std::sqrt(static_cast<double>(std::max<std::size_t>(n, 1))), 0.08, 0.85);
}

void draw_scatter(Canvas& canvas, const PixelRect& r, Range box, const Points2& points, Rgb color,
                  const std::string& title) {
  const Axes axes = box_axes(r, box);
  const std::size_t n = finite_count(points);
  canvas.set_clip(r.x, r.y, r.x + r.w, r.y + r.h);
  const double alpha = dot_alpha(n);
  for (std::size_t i = 0; i < points.xy.size() / 2; ++i) {
    if (!finite_pair(points, i)) continue;
    canvas.dot(axes.px(points.xy[2 * i]), axes.py(points.xy[2 * i + 1]), 1.3, color, alpha);
  }
  canvas.reset_clip();
  if (n == 0) note(canvas, r, "no points");
  draw_frame(canvas, axes);
  panel_title(canvas, r, fmt::format("{} ({})", title, n));
}

// ---- density panel ----

// The caller's log density at every pixel centre, row 0 at the top.
std::vector<double> density_grid(const FlowPlot& plot, const PixelRect& r, Range box) {
  const std::size_t n = static_cast<std::size_t>(r.w) * r.h;
  std::vector<double> xy(2 * n);
  const double step_x = (box.hi - box.lo) / r.w, step_y = (box.hi - box.lo) / r.h;
  for (int row = 0; row < r.h; ++row) {
    for (int col = 0; col < r.w; ++col) {
      const std::size_t i = static_cast<std::size_t>(row) * r.w + col;
      xy[2 * i] = box.lo + (col + 0.5) * step_x;
      xy[2 * i + 1] = box.hi - (row + 0.5) * step_y;
    }
  }
  std::vector<double> log_p(n, std::numeric_limits<double>::quiet_NaN());
  plot.log_density(xy, log_p);
  log_p.resize(n, std::numeric_limits<double>::quiet_NaN());
  return log_p;
}

void colorbar_tick(Canvas& canvas, double x, double y, const std::string& label) {
  canvas.line(x, y, x + 3.5, y, kFrame);
  canvas.text(x + 6, y - 3.5 * kTickFont, label, kTickFont, kInk);
}

// Ticks in p from 0 to max p = exp(log_max); where max p is not a double
// (log p beyond about +-700) only the ends are labelled, the top as e^N.
void draw_colorbar(Canvas& canvas, const PixelRect& r, double log_max) {
  const int x = r.x + r.w + kColorbarGap;
  for (int row = 0; row < r.h; ++row) {
    const Rgb c = viridis(1 - (row + 0.5) / r.h);
    canvas.fill_rect(x, r.y + row, x + kColorbarWidth, r.y + row + 1, c);
  }
  canvas.text(x - 2, r.y - 16, "p(x)", kTickFont, kInk);
  const double p_max = std::exp(log_max);
  if (!(std::isfinite(p_max) && p_max > 0)) {
    colorbar_tick(canvas, x + kColorbarWidth, r.y + 0.5, fmt::format("e^{:.0f}", log_max));
    colorbar_tick(canvas, x + kColorbarWidth, r.y + r.h - 0.5, "0");
    return;
  }
  const Axes bar{x, r.y, kColorbarWidth, r.h, {0, 1}, {0, p_max}};
  const auto ticks = nice_ticks(bar.yr, 5);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : p_max;
  for (double t : ticks) {
    colorbar_tick(canvas, x + kColorbarWidth, std::floor(bar.py(t)) + 0.5, tick_label(t, step));
  }
}

// exp(log p) relative to its maximum, so the colormap spans [0, max p].
void draw_density(Canvas& canvas, const PixelRect& r, Range box, const FlowPlot& plot) {
  panel_title(canvas, r, "model density");
  if (!plot.log_density) {
    note(canvas, r, "no density");
    draw_frame(canvas, box_axes(r, box));
    return;
  }
  const std::vector<double> log_p = density_grid(plot, r, box);
  double top = -std::numeric_limits<double>::infinity();
  for (double v : log_p) {
    if (std::isfinite(v)) top = std::max(top, v);
  }
  for (int row = 0; row < r.h; ++row) {
    for (int col = 0; col < r.w; ++col) {
      const double v = log_p[static_cast<std::size_t>(row) * r.w + col];
      // -inf is a true zero density; NaN and +inf have no place on the scale.
      const bool valid = std::isfinite(v) || v == -std::numeric_limits<double>::infinity();
      const Rgb c = !valid               ? kInvalidColor
                    : std::isfinite(top) ? viridis(std::exp(v - top))
                                         : viridis(0);
      canvas.blend(r.x + col, r.y + row, c, 1);
    }
  }
  if (!std::isfinite(top)) note(canvas, r, "no finite density");
  draw_frame(canvas, box_axes(r, box));
  draw_colorbar(canvas, r, std::isfinite(top) ? top : 0);
}

// ---- loss panel ----

Range padded(double lo, double hi, double fraction) {
  if (!(lo <= hi)) return {0, 1};
  if (hi == lo) return {lo - 0.5 - 0.05 * std::abs(lo), hi + 0.5 + 0.05 * std::abs(hi)};
  const double pad = fraction * (hi - lo);
  return {lo - pad, hi + pad};
}

Range step_range(const std::vector<LossCurve>& curves) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& c : curves) {
    for (double s : c.step) {
      if (std::isfinite(s)) lo = std::min(lo, s), hi = std::max(hi, s);
    }
  }
  if (hi == lo) return padded(lo, hi, 0);
  if (!(lo < hi)) return {0, 1};
  // Records often start at step 100 or so; the axis reads better from 0.
  if (lo > 0 && lo <= 0.2 * hi) lo = 0;
  return {lo, hi};
}

// The first steps of training are often orders of magnitude above the rest;
// the y range covers only each curve's last 90%, so the part that shows
// progress fills the panel. Earlier values run off the top.
Range value_range(const std::vector<LossCurve>& curves) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& c : curves) {
    const std::size_t n = std::min(c.step.size(), c.value.size());
    for (std::size_t i = n / 10; i < n; ++i) {
      if (std::isfinite(c.value[i])) lo = std::min(lo, c.value[i]), hi = std::max(hi, c.value[i]);
    }
  }
  return padded(lo, hi, 0.05);
}

void draw_curve(Canvas& canvas, const Axes& axes, const LossCurve& curve, Rgb color) {
  const std::size_t n = std::min(curve.step.size(), curve.value.size());
  for (std::size_t i = 0; i + 1 < n; ++i) {
    canvas.line(axes.px(curve.step[i]), axes.py(curve.value[i]), axes.px(curve.step[i + 1]),
                axes.py(curve.value[i + 1]), color, 1.5);
  }
  // A lone point (or a curve of isolated finite values) still shows up.
  if (n == 1) canvas.dot(axes.px(curve.step[0]), axes.py(curve.value[0]), 2.5, color);
}

void draw_legend(Canvas& canvas, const Axes& axes, const std::vector<LossCurve>& curves) {
  double label_w = 0;
  for (const auto& c : curves) label_w = std::max(label_w, Canvas::text_width(c.label, kTickFont));
  const double row_h = 16, swatch = 20;
  const double w = 8 + swatch + 6 + label_w + 8, h = 6 + row_h * curves.size() + 2;
  const double x = axes.x + axes.w - w - 8, y = axes.y + 8;
  canvas.fill_rect(x, y, x + w, y + h, kWhite, 0.85);
  // A hairline border separates the legend from grid lines behind it.
  canvas.line(x, y, x + w, y, kGrid);
  canvas.line(x, y + h, x + w, y + h, kGrid);
  canvas.line(x, y, x, y + h, kGrid);
  canvas.line(x + w, y, x + w, y + h, kGrid);
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const double cy = y + 6 + row_h * i + 5;
    const Rgb color = kCurveColors[i % kCurveColors.size()];
    canvas.line(x + 8, cy, x + 8 + swatch, cy, color, 2);
    canvas.text(x + 8 + swatch + 6, cy - 3.5 * kTickFont, curves[i].label, kTickFont, kInk);
  }
}

void draw_losses(Canvas& canvas, const PixelRect& r, const std::vector<LossCurve>& curves) {
  const Axes axes{r.x, r.y, r.w, r.h, step_range(curves), value_range(curves)};
  draw_grid(canvas, axes);
  canvas.set_clip(r.x, r.y, r.x + r.w, r.y + r.h);
  for (std::size_t i = 0; i < curves.size(); ++i) {
    draw_curve(canvas, axes, curves[i], kCurveColors[i % kCurveColors.size()]);
  }
  canvas.reset_clip();
  if (curves.empty())
    note(canvas, r, "no loss curves");
  else
    draw_legend(canvas, axes, curves);
  draw_frame(canvas, axes);
  centered_text(canvas, r.x + r.w / 2.0, r.y + r.h + 26, "step", kTickFont, kInk);
  panel_title(canvas, r, "loss");
}

}  // namespace

FlowPlotLayout flow_plot_layout(const FlowPlot& plot) {
  const int p = std::clamp(plot.panel_px, kMinPanel, kMaxPanel);
  const Range box = plot_box(plot);
  FlowPlotLayout layout;
  layout.lo = box.lo;
  layout.hi = box.hi;
  const int top = kTitleSpace + kPanelTitleSpace;
  int x = kLabelSpace;
  for (PixelRect* r : {&layout.data, &layout.density, &layout.samples, &layout.loss}) {
    *r = {x, top, p, p};
    x += p + kPanelGap + kLabelSpace;
    // The colorbar and its labels sit right of the density panel.
    if (r == &layout.density) x += kColorbarGap + kColorbarWidth + kColorbarLabels;
  }
  layout.width = layout.loss.x + p + kRightSpace;
  layout.height = top + p + kBottomSpace;
  return layout;
}

void write_flow_plot(const std::string& path, const FlowPlot& plot) {
  const FlowPlotLayout layout = flow_plot_layout(plot);
  const Range box{layout.lo, layout.hi};
  Canvas canvas(layout.width, layout.height, kWhite);
  centered_text(canvas, layout.width / 2.0, 16, plot.title, kTitleFont, kInk, 1);
  draw_scatter(canvas, layout.data, box, plot.data, kDataColor, "training data");
  draw_density(canvas, layout.density, box, plot);
  draw_scatter(canvas, layout.samples, box, plot.samples, kSampleColor, "model samples");
  draw_losses(canvas, layout.loss, plot.curves);
  write_file_atomically(path, encode_png(canvas));
}

}  // namespace nfc
