// A one-image summary of a trained 2-D (or 1-D) flow: the training data, the model's
// density as a heat map, samples from the model, and the loss curves, side
// by side in one PNG. The first three panels share one square box, so the
// eye can compare them position by position.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace nfc {

struct Points2 {
  std::vector<double> xy;  // row-major pairs
};

struct LossCurve {
  std::string label;
  std::vector<double> step, value;
};

struct FlowPlot {
  std::string title;  // e.g. "moons - RealNVP 4 layers, 2000 steps"
  Points2 data;       // training data
  Points2 samples;    // samples from the model
  // Log density of the model on the plot box, evaluated by the caller:
  // called once with all grid points (row-major pairs), must fill log_p.
  std::function<void(const std::vector<double>& xy, std::vector<double>& log_p)> log_density;
  // A flow fitted to a target (reverse KL): the target's unnormalised log
  // density, drawn in the first panel instead of the training data.
  std::function<void(const std::vector<double>& xy, std::vector<double>& log_p)> target_density;
  std::vector<LossCurve> curves;  // e.g. train NLL per step, validation NLL
  // The square box [lo, hi]^2; 0, 0 = choose from the data (0.5% and 99.5%
  // quantiles, padded 10%, made square).
  double lo = 0, hi = 0;
  int panel_px = 360;  // size of each square panel
};

// Where write_flow_plot puts things: the plot area of each panel (inside its
// frame) and the box the first three share. Density pixel (col, row) of the
// heat map shows the point lo + (col + 0.5) * (hi - lo) / w, hi - (row +
// 0.5) * (hi - lo) / h.
struct PixelRect {
  int x = 0, y = 0, w = 0, h = 0;
};
struct FlowPlotLayout {
  int width = 0, height = 0;
  double lo = 0, hi = 1;
  PixelRect data, density, samples, loss;
};
FlowPlotLayout flow_plot_layout(const FlowPlot& plot);

// Throws std::runtime_error("cannot write 'path': ...") on failure; the file
// is replaced atomically, never left half-written.
void write_flow_plot(const std::string& path, const FlowPlot& plot);

// The same summary for a 1-D flow, in three panels: a histogram of the data
// with the model density p(x) over it; the learned map z = f(x) against the
// data's empirical CDF (for a uniform base f is the model's CDF), or, without
// a map, a histogram of the model samples with p(x) over it; the loss curves.
struct FlowPlot1d {
  std::string title;
  std::vector<double> data;     // training data
  std::vector<double> samples;  // samples from the model
  // Called once with every x the curves need, must fill log_p (resp. z).
  std::function<void(const std::vector<double>& x, std::vector<double>& log_p)> log_density;
  std::function<void(const std::vector<double>& x, std::vector<double>& z)> cdf;  // may be empty
  std::vector<LossCurve> curves;
  // The x range [lo, hi]; 0, 0 = choose from the data as for FlowPlot.
  double lo = 0, hi = 0;
  int panel_px = 360;
};

// Panel 1 shows [lo, hi] x [0, p_top], panel 2 [lo, hi] x [z_lo, z_hi]; the
// x of pixel column col is lo + (col + 0.5) * (hi - lo) / w in both. Finding
// p_top evaluates the density (the caller's function is called once).
struct FlowPlot1dLayout {
  int width = 0, height = 0;
  double lo = 0, hi = 1;
  double p_top = 1, z_lo = 0, z_hi = 1;
  PixelRect density, map, loss;
};
FlowPlot1dLayout flow_plot_layout(const FlowPlot1d& plot);

void write_flow_plot(const std::string& path, const FlowPlot1d& plot);

// The summary of a flow whose rows are images (`image = [H, W, C]`): up
// to 64 training images beside as many samples, and the loss curves.
struct ImagePlot {
  std::string title;
  std::vector<double> data, samples;  // rows of H * W * C values
  std::vector<int> shape;             // {H, W, C}
  double max_value = 255;             // full intensity (ImageRows)
  std::vector<LossCurve> curves;
  int panel_px = 360;
};

void write_image_plot(const std::string& path, const ImagePlot& plot);

}  // namespace nfc
