// Draws FlowPlot and FlowPlot1d: layout first (pure arithmetic, shared with the tests), then
// one function per panel. Degenerate input (no points, no curves, NaN in the
// density, constant values) draws an empty panel with a note, never fails.
#include "plot/Plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "plot/Axes.hpp"
#include "plot/Canvas.hpp"
#include "plot/Colormap.hpp"
#include "plot/ImageGrid.hpp"
#include "plot/Png.hpp"
#include "runtime/io/AtomicFile.hpp"

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

// 0.5% and 99.5% quantiles of finite values, so a few outliers cannot
// shrink the interesting part to a corner (values is sorted in place).
Range quantile_range(std::vector<double>& values) {
  std::sort(values.begin(), values.end());
  return {quantile(values, 0.005), quantile(values, 0.995)};
}

// A range padded 10% on each side (a point gets some room too).
Range padded_box(Range r) {
  const double pad = r.hi > r.lo ? 0.1 * (r.hi - r.lo) : 1 + 0.1 * std::abs(r.lo);
  return {r.lo - pad, r.hi + pad};
}

// The quantile ranges of both coordinates, combined into a square box.
Range robust_box(const Points2& points) {
  std::vector<double> xs, ys;
  for (std::size_t i = 0; i + 1 < points.xy.size(); i += 2) {
    if (!std::isfinite(points.xy[i]) || !std::isfinite(points.xy[i + 1])) continue;
    xs.push_back(points.xy[i]);
    ys.push_back(points.xy[i + 1]);
  }
  if (xs.empty()) return {-3, 3};
  const Range rx = quantile_range(xs), ry = quantile_range(ys);
  return padded_box({std::min(rx.lo, ry.lo), std::max(rx.hi, ry.hi)});
}

std::vector<double> finite_values(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) {
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

Range robust_range(const std::vector<double>& values) {
  std::vector<double> xs = finite_values(values);
  if (xs.empty()) return {-3, 3};
  return padded_box(quantile_range(xs));
}

bool valid_box(double lo, double hi) {
  return hi > lo && std::isfinite(hi - lo);
}

Range plot_box(const FlowPlot& plot) {
  if (valid_box(plot.lo, plot.hi)) return {plot.lo, plot.hi};
  return robust_box(plot.data.xy.size() >= 2 ? plot.data : plot.samples);
}

Range plot_box(const FlowPlot1d& plot) {
  if (valid_box(plot.lo, plot.hi)) return {plot.lo, plot.hi};
  return robust_range(finite_values(plot.data).empty() ? plot.samples : plot.data);
}

// ---- pieces every figure shares ----

// A row of square panels of side p below the title row; extra[i] more pixels
// of space follow panel i (e.g. a colorbar).
std::vector<PixelRect> panel_row(int p, const std::vector<int>& extra, int* width, int* height) {
  const int top = kTitleSpace + kPanelTitleSpace;
  std::vector<PixelRect> panels;
  int x = kLabelSpace;
  for (int e : extra) {
    panels.push_back({x, top, p, p});
    x += p + kPanelGap + kLabelSpace + e;
  }
  *width = panels.back().x + p + kRightSpace;
  *height = top + p + kBottomSpace;
  return panels;
}

int panel_size(int panel_px) {
  return std::clamp(panel_px, kMinPanel, kMaxPanel);
}

// The preferred scale, or smaller if that would not fit in `width`.
double fitted_scale(const std::string& s, double preferred, double width) {
  const double w = Canvas::text_width(s, 1);
  return w > 0 ? std::min(preferred, width / w) : preferred;
}

// Shrunk to fit the figure's width (titles name data files, whose paths
// can be long).
void figure_title(Canvas& canvas, const std::string& title) {
  const double scale = fitted_scale(title, kTitleFont, canvas.width() - 20.0);
  centered_text(canvas, canvas.width() / 2.0, 16, title, scale, kInk, 1);
}

// A label centred under a panel's x tick labels.
void axis_label(Canvas& canvas, const PixelRect& r, const std::string& label) {
  centered_text(canvas, r.x + r.w / 2.0, r.y + r.h + 26, label, kTickFont, kInk);
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
using LogDensity = std::function<void(const std::vector<double>&, std::vector<double>&)>;

std::vector<double> density_grid(const LogDensity& log_density, const PixelRect& r, Range box) {
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
  log_density(xy, log_p);
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

// exp(log p) relative to its maximum, so the colormap spans [0, max p]; the
// colorbar (absolute values) only for a normalised density.
void draw_density(Canvas& canvas, const PixelRect& r, Range box, const LogDensity& log_density,
                  const std::string& title, bool colorbar) {
  panel_title(canvas, r, title);
  if (!log_density) {
    note(canvas, r, "no density");
    draw_frame(canvas, box_axes(r, box));
    return;
  }
  const std::vector<double> log_p = density_grid(log_density, r, box);
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
  if (colorbar) draw_colorbar(canvas, r, std::isfinite(top) ? top : 0);
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

struct LegendEntry {
  std::string label;
  Rgb color;
};

enum class Corner { top_right, top_left, bottom_right };

void draw_legend(Canvas& canvas, const Axes& axes, const std::vector<LegendEntry>& entries,
                 Corner corner = Corner::top_right) {
  double label_w = 0;
  for (const auto& e : entries) label_w = std::max(label_w, Canvas::text_width(e.label, kTickFont));
  const double row_h = 16, swatch = 20;
  const double w = 8 + swatch + 6 + label_w + 8, h = 6 + row_h * entries.size() + 2;
  const double x = corner == Corner::top_left ? axes.x + 8 : axes.x + axes.w - w - 8;
  const double y = corner == Corner::bottom_right ? axes.y + axes.h - h - 8 : axes.y + 8;
  canvas.fill_rect(x, y, x + w, y + h, kWhite, 0.85);
  // A hairline border separates the legend from grid lines behind it.
  canvas.line(x, y, x + w, y, kGrid);
  canvas.line(x, y + h, x + w, y + h, kGrid);
  canvas.line(x, y, x, y + h, kGrid);
  canvas.line(x + w, y, x + w, y + h, kGrid);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const double cy = y + 6 + row_h * i + 5;
    canvas.line(x + 8, cy, x + 8 + swatch, cy, entries[i].color, 2);
    canvas.text(x + 8 + swatch + 6, cy - 3.5 * kTickFont, entries[i].label, kTickFont, kInk);
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
  if (curves.empty()) {
    note(canvas, r, "no loss curves");
  } else {
    std::vector<LegendEntry> entries;
    for (std::size_t i = 0; i < curves.size(); ++i)
      entries.push_back({curves[i].label, kCurveColors[i % kCurveColors.size()]});
    draw_legend(canvas, axes, entries);
  }
  draw_frame(canvas, axes);
  axis_label(canvas, r, "step");
  panel_title(canvas, r, "loss");
}

// ---- 1-D panels ----

// The model's values at the x of every pixel column of a panel w wide.
struct Curves1d {
  std::vector<double> x, p, z;  // z empty without a map
};

// One call to each of the caller's functions; results of the wrong size are
// padded with NaN, which draws nothing.
Curves1d model_curves(const FlowPlot1d& plot, Range box, int w) {
  Curves1d c;
  const std::size_t n = static_cast<std::size_t>(w);
  for (int col = 0; col < w; ++col) c.x.push_back(box.lo + (col + 0.5) * (box.hi - box.lo) / w);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  c.p.assign(n, nan);
  if (plot.log_density) {
    plot.log_density(c.x, c.p);
    c.p.resize(n, nan);
    for (double& v : c.p) v = std::exp(v);  // -inf is a true zero, NaN stays NaN
  }
  if (plot.cdf) {
    c.z.assign(n, nan);
    plot.cdf(c.x, c.z);
    c.z.resize(n, nan);
  }
  return c;
}

// A histogram over the box, normalised as a density of all finite values
// (those outside the box count too), so it compares with p(x).
struct Histogram {
  std::vector<double> height;
  std::size_t count = 0;  // finite values
};

Histogram histogram(const std::vector<double>& values, Range box, int panel_w) {
  Histogram h;
  for (double v : values) h.count += std::isfinite(v);
  if (h.count == 0) return h;
  // About 2 n^(1/3) bins (Rice's rule), each at least 4 pixels wide.
  const int bins = std::clamp(static_cast<int>(std::lround(2 * std::cbrt(double(h.count)))), 8,
                              std::max(8, std::min(80, panel_w / 4)));
  h.height.assign(bins, 0);
  const double width = (box.hi - box.lo) / bins;
  for (double v : values) {
    if (!std::isfinite(v) || v < box.lo || v >= box.hi) continue;
    h.height[std::min(bins - 1, static_cast<int>((v - box.lo) / width))] += 1;
  }
  for (double& b : h.height) b /= static_cast<double>(h.count) * width;
  return h;
}

double finite_max(const std::vector<double>& values) {
  double m = 0;
  for (double v : values) {
    if (std::isfinite(v)) m = std::max(m, v);
  }
  return m;
}

// The top of a density panel: room for the histogram and the curve, and
// above them for the legend; but a spike of the curve may not flatten the
// histogram (it runs off the top).
double density_top(const Histogram& h, const std::vector<double>& p) {
  const double bars = finite_max(h.height), curve = finite_max(p);
  double top = bars > 0 ? std::min(std::max(bars, curve), 2.5 * bars) : curve;
  if (!(top > 0) || !std::isfinite(1.2 * top)) return 1;
  return 1.2 * top;
}

// The upper corner where the histogram and the curve are lower.
Corner emptier_top_corner(const Histogram& h, const std::vector<double>& p) {
  auto side_max = [](const std::vector<double>& v, bool left) {
    const std::size_t n = v.size(), part = (2 * n + 4) / 5;  // the outer 40%
    const std::vector<double> side(left ? v.begin() : v.end() - part,
                                   left ? v.begin() + part : v.end());
    return finite_max(side);
  };
  const double left = std::max(side_max(h.height, true), side_max(p, true));
  const double right = std::max(side_max(h.height, false), side_max(p, false));
  return left < right ? Corner::top_left : Corner::top_right;
}

Range z_range(const std::vector<double>& z) {
  double lo = 0, hi = 1;
  for (double v : z) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  const double pad = 0.04 * (hi - lo);
  return std::isfinite(pad) ? Range{lo - pad, hi + pad} : Range{-0.04, 1.04};
}

// Everything the 1-D figure needs from the caller's functions, evaluated once.
struct Figure1d {
  FlowPlot1dLayout layout;
  Curves1d model;
  Histogram data, samples;
};

Figure1d figure_1d(const FlowPlot1d& plot) {
  Figure1d f;
  FlowPlot1dLayout& l = f.layout;
  const Range box = plot_box(plot);
  l.lo = box.lo;
  l.hi = box.hi;
  const auto panels = panel_row(panel_size(plot.panel_px), {0, 0, 0}, &l.width, &l.height);
  l.density = panels[0];
  l.map = panels[1];
  l.loss = panels[2];
  f.model = model_curves(plot, box, l.density.w);
  f.data = histogram(plot.data, box, l.density.w);
  l.p_top = density_top(f.data, f.model.p);
  if (plot.cdf) {
    const Range z = z_range(f.model.z);
    l.z_lo = z.lo;
    l.z_hi = z.hi;
  } else {
    f.samples = histogram(plot.samples, box, l.map.w);
    l.z_lo = 0;
    l.z_hi = density_top(f.samples, f.model.p);
  }
  return f;
}

// Values far outside the y range are clamped to just outside it, so lines
// stay in coordinates the canvas handles; the clip hides the difference.
double clamped_py(const Axes& a, double v) {
  const double span = a.yr.hi - a.yr.lo;
  return a.py(std::clamp(v, a.yr.lo - span, a.yr.hi + span));
}

// A polyline through (x[i], y[i]), broken where a value is not finite.
void draw_polyline(Canvas& canvas, const Axes& a, const std::vector<double>& x,
                   const std::vector<double>& y, Rgb color) {
  for (std::size_t i = 0; i + 1 < x.size() && i + 1 < y.size(); ++i) {
    if (!std::isfinite(y[i]) || !std::isfinite(y[i + 1])) continue;
    canvas.line(a.px(x[i]), clamped_py(a, y[i]), a.px(x[i + 1]), clamped_py(a, y[i + 1]), color, 2);
  }
}

void draw_bars(Canvas& canvas, const Axes& a, const Histogram& h, Rgb color) {
  const double width = (a.xr.hi - a.xr.lo) / std::max<std::size_t>(h.height.size(), 1);
  for (std::size_t i = 0; i < h.height.size(); ++i) {
    if (!(h.height[i] > 0)) continue;
    const double x0 = a.px(a.xr.lo + i * width), x1 = a.px(a.xr.lo + (i + 1) * width);
    const double top = clamped_py(a, h.height[i]), base = a.py(0);
    canvas.fill_rect(x0, top, x1, base, color, 0.35);
    // A darker outline keeps neighbouring bars apart.
    canvas.line(x0, top, x1, top, color, 1, 0.9);
    canvas.line(x0, top, x0, base, color, 1, 0.5);
    canvas.line(x1, top, x1, base, color, 1, 0.5);
  }
}

bool any_finite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// A histogram with the model density over it.
void draw_histogram_panel(Canvas& canvas, const PixelRect& r, Range box, double top,
                          const Histogram& h, Rgb bar_color, const Curves1d& model,
                          const std::string& title, const std::string& bar_label) {
  const Axes axes{r.x, r.y, r.w, r.h, box, {0, top}};
  draw_grid(canvas, axes);
  canvas.set_clip(r.x, r.y, r.x + r.w, r.y + r.h);
  draw_bars(canvas, axes, h, bar_color);
  draw_polyline(canvas, axes, model.x, model.p, kSampleColor);
  canvas.reset_clip();
  const bool have_curve = any_finite(model.p);
  if (h.count == 0)
    note(canvas, r, "no " + bar_label);
  else if (!have_curve)
    note(canvas, r, "no finite density");
  if (h.count > 0 || have_curve) {
    std::vector<LegendEntry> entries;
    if (h.count > 0) entries.push_back({bar_label, bar_color});
    if (have_curve) entries.push_back({"model p(x)", kSampleColor});
    draw_legend(canvas, axes, entries, emptier_top_corner(h, model.p));
  }
  draw_frame(canvas, axes);
  axis_label(canvas, r, "x");
  panel_title(canvas, r, fmt::format("{} ({})", title, h.count));
}

// The data's empirical CDF as a step curve: 0 left of the smallest value,
// rising by 1/n at each value.
void draw_ecdf(Canvas& canvas, const Axes& a, const std::vector<double>& data, Rgb color) {
  std::vector<double> xs = finite_values(data);
  if (xs.empty()) return;
  std::sort(xs.begin(), xs.end());
  const double n = static_cast<double>(xs.size());
  double px = a.px(a.xr.lo - (a.xr.hi - a.xr.lo)), py = a.py(0);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x =
        a.px(std::clamp(xs[i], a.xr.lo - (a.xr.hi - a.xr.lo), a.xr.hi + (a.xr.hi - a.xr.lo)));
    const double y = a.py((i + 1) / n);
    canvas.line(px, py, x, py, color, 1.5);
    canvas.line(x, py, x, y, color, 1.5);
    px = x;
    py = y;
  }
  canvas.line(px, py, a.px(a.xr.hi + (a.xr.hi - a.xr.lo)), py, color, 1.5);
}

void draw_map_panel(Canvas& canvas, const FlowPlot1dLayout& l, const FlowPlot1d& plot,
                    const Curves1d& model) {
  const PixelRect& r = l.map;
  const Axes axes{r.x, r.y, r.w, r.h, {l.lo, l.hi}, {l.z_lo, l.z_hi}};
  draw_grid(canvas, axes);
  canvas.set_clip(r.x, r.y, r.x + r.w, r.y + r.h);
  draw_ecdf(canvas, axes, plot.data, kDataColor);
  draw_polyline(canvas, axes, model.x, model.z, kSampleColor);
  canvas.reset_clip();
  const bool have_data = any_finite(plot.data), have_map = any_finite(model.z);
  if (!have_map) note(canvas, r, "no finite z");
  std::vector<LegendEntry> entries;
  if (have_data) entries.push_back({"data CDF", kDataColor});
  if (have_map) entries.push_back({"model z = f(x)", kSampleColor});
  // A CDF rises left to right: its bottom right corner is empty.
  if (!entries.empty()) draw_legend(canvas, axes, entries, Corner::bottom_right);
  draw_frame(canvas, axes);
  axis_label(canvas, r, "x");
  panel_title(canvas, r, "learned map z = f(x)");
}
}  // namespace

FlowPlotLayout flow_plot_layout(const FlowPlot& plot) {
  const Range box = plot_box(plot);
  FlowPlotLayout layout;
  layout.lo = box.lo;
  layout.hi = box.hi;
  // The colorbar and its labels sit right of the density panel.
  const auto panels = panel_row(panel_size(plot.panel_px),
                                {0, kColorbarGap + kColorbarWidth + kColorbarLabels, 0, 0},
                                &layout.width, &layout.height);
  layout.data = panels[0];
  layout.density = panels[1];
  layout.samples = panels[2];
  layout.loss = panels[3];
  return layout;
}

void write_flow_plot(const std::string& path, const FlowPlot& plot) {
  const FlowPlotLayout layout = flow_plot_layout(plot);
  const Range box{layout.lo, layout.hi};
  Canvas canvas(layout.width, layout.height, kWhite);
  figure_title(canvas, plot.title);
  if (plot.target_density)
    draw_density(canvas, layout.data, box, plot.target_density, "target (unnormalised)", false);
  else
    draw_scatter(canvas, layout.data, box, plot.data, kDataColor, "training data");
  draw_density(canvas, layout.density, box, plot.log_density, "model density", true);
  draw_scatter(canvas, layout.samples, box, plot.samples, kSampleColor, "model samples");
  draw_losses(canvas, layout.loss, plot.curves);
  write_file_atomically(path, encode_png(canvas));
}

FlowPlot1dLayout flow_plot_layout(const FlowPlot1d& plot) {
  return figure_1d(plot).layout;
}

void write_flow_plot(const std::string& path, const FlowPlot1d& plot) {
  const Figure1d f = figure_1d(plot);
  const FlowPlot1dLayout& l = f.layout;
  const Range box{l.lo, l.hi};
  Canvas canvas(l.width, l.height, kWhite);
  figure_title(canvas, plot.title);
  draw_histogram_panel(canvas, l.density, box, l.p_top, f.data, kDataColor, f.model,
                       "training data", "data");
  if (plot.cdf)
    draw_map_panel(canvas, l, plot, f.model);
  else
    draw_histogram_panel(canvas, l.map, box, l.z_hi, f.samples, kSampleColor, f.model,
                         "model samples", "samples");
  draw_losses(canvas, l.loss, plot.curves);
  write_file_atomically(path, encode_png(canvas));
}

namespace {

// Up to 64 images of `rows`, as large as fit, centred in the panel.
void draw_images_panel(Canvas& canvas, const PixelRect& r, const std::vector<double>& rows,
                       const ImagePlot& plot, const std::string& title) {
  constexpr int64_t kShown = 64;
  constexpr int kGap = 2;
  canvas.fill_rect(r.x, r.y, r.x + r.w, r.y + r.h, Rgb{128, 128, 128});
  panel_title(canvas, r, title);
  const int64_t size = int64_t{plot.shape[0]} * plot.shape[1] * plot.shape[2];
  const int64_t n = std::min<int64_t>(kShown, int64_t(rows.size()) / size);
  if (n == 0) return note(canvas, r, "none");
  const int columns = grid_columns(n), lines = int((n + columns - 1) / columns);
  const int zoom = std::max(1, std::min((r.w - kGap * (columns + 1)) / (columns * plot.shape[1]),
                                        (r.h - kGap * (lines + 1)) / (lines * plot.shape[0])));
  const int w = columns * (plot.shape[1] * zoom + kGap) - kGap;
  const int h = lines * (plot.shape[0] * zoom + kGap) - kGap;
  canvas.set_clip(r.x, r.y, r.x + r.w, r.y + r.h);
  draw_image_grid(canvas, r.x + (r.w - w) / 2, r.y + (r.h - h) / 2,
                  ImageRows{rows.data(), n, plot.shape, plot.max_value}, columns, zoom, kGap);
  canvas.reset_clip();
}

}  // namespace

void write_image_plot(const std::string& path, const ImagePlot& plot) {
  // Panels wide enough for 8 x 8 images at 2 screen pixels a pixel.
  const int side = 8 * (2 * std::max(plot.shape[0], plot.shape[1]) + 2) + 2;
  int width = 0, height = 0;
  const std::vector<PixelRect> panels =
      panel_row(panel_size(std::max(plot.panel_px, side)), {0, 0, 0}, &width, &height);
  Canvas canvas(width, height, kWhite);
  figure_title(canvas, plot.title);
  draw_images_panel(canvas, panels[0], plot.data, plot, "training data");
  draw_images_panel(canvas, panels[1], plot.samples, plot, "model samples");
  draw_losses(canvas, panels[2], plot.curves);
  write_file_atomically(path, encode_png(canvas));
}

}  // namespace nfc
