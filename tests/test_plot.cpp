// The flow summary PNGs (2-D and 1-D): written, read back with stb_image, and checked at
// pixels computed from the published layout: the heat map is bright at the
// modes of a known Gaussian mixture and dark far away, the data scatter is
// inked where data lie, and degenerate inputs still give an image.
#include <stb/stb_image.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "plot/Axes.hpp"
#include "plot/Plot.hpp"
#include "runtime/Random.hpp"

using namespace nfc;

namespace {

struct Component {
  double mx, my, sigma;
};
// Equal weights; the narrow one has the higher peak.
const Component kMixture[] = {{-1.5, -0.5, 0.35}, {1.5, 1.0, 0.5}};

double mixture_log_density(double x, double y) {
  double p = 0;
  for (const auto& c : kMixture) {
    const double r2 = ((x - c.mx) * (x - c.mx) + (y - c.my) * (y - c.my)) / (c.sigma * c.sigma);
    p += 0.5 * std::exp(-0.5 * r2) / (2 * M_PI * c.sigma * c.sigma);
  }
  return std::log(p);
}

Points2 mixture_samples(int n, uint64_t seed) {
  Random rng(seed);
  Points2 points;
  for (int i = 0; i < n; ++i) {
    const Component& c = kMixture[i % 2];
    points.xy.push_back(c.mx + c.sigma * rng.normal());
    points.xy.push_back(c.my + c.sigma * rng.normal());
  }
  return points;
}

// A training curve that starts orders of magnitude high, and a validation
// curve evaluated every 100 steps.
std::vector<LossCurve> loss_curves() {
  Random rng(3);
  LossCurve train{"train NLL", {}, {}}, valid{"validation NLL", {}, {}};
  for (int s = 0; s <= 2000; s += 5) {
    train.step.push_back(s);
    train.value.push_back(2.3 + 60 * std::exp(-s / 30.0) + 0.4 * std::exp(-s / 600.0) +
                          0.05 * rng.normal());
    if (s % 100 == 0) {
      valid.step.push_back(s);
      valid.value.push_back(2.4 + 40 * std::exp(-s / 30.0) + 0.4 * std::exp(-s / 600.0));
    }
  }
  return {train, valid};
}

FlowPlot mixture_plot() {
  FlowPlot plot;
  plot.title = "mixture — exact density, 2000 points";
  plot.data = mixture_samples(2000, 1);
  plot.samples = mixture_samples(2000, 2);
  plot.log_density = [](const std::vector<double>& xy, std::vector<double>& log_p) {
    for (std::size_t i = 0; i < log_p.size(); ++i) {
      log_p[i] = mixture_log_density(xy[2 * i], xy[2 * i + 1]);
    }
  };
  plot.curves = loss_curves();
  return plot;
}

struct Image {
  int w = 0, h = 0;
  std::unique_ptr<unsigned char, decltype(&stbi_image_free)> rgb{nullptr, &stbi_image_free};

  double luminance(int x, int y) const {
    const unsigned char* p = rgb.get() + (static_cast<std::size_t>(y) * w + x) * 3;
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  }
  bool is_white(int x, int y) const {
    const unsigned char* p = rgb.get() + (static_cast<std::size_t>(y) * w + x) * 3;
    return p[0] == 255 && p[1] == 255 && p[2] == 255;
  }
};

Image read_png(const std::string& path) {
  Image image;
  int channels = 0;
  image.rgb.reset(stbi_load(path.c_str(), &image.w, &image.h, &channels, 3));
  REQUIRE(image.rgb != nullptr);
  return image;
}

// The pixel of panel r that shows point (x, y) of the box [lo, hi]^2.
struct Pixel {
  int x, y;
};
Pixel pixel_of(const FlowPlotLayout& l, const PixelRect& r, double x, double y) {
  const double span = l.hi - l.lo;
  return {r.x + static_cast<int>((x - l.lo) / span * r.w),
          r.y + static_cast<int>((l.hi - y) / span * r.h)};
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("nfc_test_plot_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("plot: heat map is bright at the modes, scatter inked where data lie", "[plot]") {
  TempDir dir;
  const FlowPlot plot = mixture_plot();
  const std::string path = dir.file("mixture.png");
  write_flow_plot(path, plot);
  const Image image = read_png(path);
  const FlowPlotLayout layout = flow_plot_layout(plot);
  CHECK(image.w == layout.width);
  CHECK(image.h == layout.height);
  // The robust box holds both modes with room to spare.
  CHECK(layout.lo < -2.5);
  CHECK(layout.hi > 2.5);

  const Pixel narrow = pixel_of(layout, layout.density, -1.5, -0.5);
  const Pixel wide = pixel_of(layout, layout.density, 1.5, 1.0);
  const double corner_x = layout.lo + 0.02 * (layout.hi - layout.lo);
  const double corner_y = layout.hi - 0.02 * (layout.hi - layout.lo);
  const Pixel far = pixel_of(layout, layout.density, corner_x, corner_y);
  const Pixel between = pixel_of(layout, layout.density, 0, 0.25);
  CHECK(image.luminance(narrow.x, narrow.y) > 180);  // viridis yellow
  CHECK(image.luminance(wide.x, wide.y) > 90);       // half the peak: teal
  CHECK(image.luminance(far.x, far.y) < 60);         // viridis purple
  CHECK(image.luminance(between.x, between.y) < image.luminance(wide.x, wide.y));

  for (const PixelRect* panel : {&layout.data, &layout.samples}) {
    const Pixel mode = pixel_of(layout, *panel, -1.5, -0.5);
    const Pixel empty = pixel_of(layout, *panel, corner_x, corner_y);
    CHECK_FALSE(image.is_white(mode.x, mode.y));
    CHECK(image.is_white(empty.x, empty.y));
  }
}

TEST_CASE("plot: degenerate inputs still give an image", "[plot]") {
  TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  FlowPlot plot;
  std::string name = "empty";
  SECTION("nothing at all") {}
  SECTION("NaN, +inf and -inf in the density and the data") {
    name = "nonfinite";
    plot.data.xy = {0, 0, nan, 1, inf, 2, 1, 1};
    plot.samples.xy = {nan, nan};
    plot.log_density = [&](const std::vector<double>&, std::vector<double>& log_p) {
      for (std::size_t i = 0; i < log_p.size(); ++i)
        log_p[i] = i % 3 == 0 ? nan : i % 3 == 1 ? inf : -inf;
    };
    plot.curves = {{"nan", {0, 1, 2}, {nan, inf, -inf}}};
  }
  SECTION("all-equal values") {
    name = "constant";
    plot.data.xy = std::vector<double>(200, 1.5);
    plot.samples = plot.data;
    plot.log_density = [](const std::vector<double>&, std::vector<double>& log_p) {
      std::fill(log_p.begin(), log_p.end(), -3.0);
    };
    plot.curves = {{"flat", {5, 5, 5}, {2, 2, 2}}, {"one point", {7}, {1}}};
  }
  SECTION("a log density too large for exp") {
    name = "huge";
    plot.log_density = [](const std::vector<double>& xy, std::vector<double>& log_p) {
      for (std::size_t i = 0; i < log_p.size(); ++i) log_p[i] = 800 - xy[2 * i] * xy[2 * i];
    };
  }
  SECTION("a density that fills nothing, an explicit box, a tiny panel") {
    name = "tiny";
    plot.log_density = [](const std::vector<double>&, std::vector<double>& log_p) {
      log_p.clear();
    };
    plot.lo = -1;
    plot.hi = 1;
    plot.panel_px = 1;
    plot.curves = {{"mismatched", {0, 1, 2, 3}, {1e300, -1e300}}};
  }
  const std::string path = dir.file(name + ".png");
  write_flow_plot(path, plot);
  const Image image = read_png(path);
  CHECK(image.w == flow_plot_layout(plot).width);
  CHECK(image.h == flow_plot_layout(plot).height);
}

namespace {

// The 1-D case: equal-ish weights, the narrow mode has the higher peak.
struct Component1d {
  double weight, mean, sigma;
};
const Component1d kMixture1d[] = {{0.4, -1.5, 0.35}, {0.6, 1.5, 0.6}};

double mixture1d_density(double x) {
  double p = 0;
  for (const auto& c : kMixture1d) {
    const double u = (x - c.mean) / c.sigma;
    p += c.weight * std::exp(-0.5 * u * u) / (c.sigma * std::sqrt(2 * M_PI));
  }
  return p;
}

double mixture1d_cdf(double x) {
  double f = 0;
  for (const auto& c : kMixture1d)
    f += c.weight * 0.5 * (1 + std::erf((x - c.mean) / (c.sigma * M_SQRT2)));
  return f;
}

std::vector<double> mixture1d_samples(int n, uint64_t seed) {
  Random rng(seed);
  std::vector<double> xs;
  for (int i = 0; i < n; ++i) {
    const Component1d& c = rng.uniform() < kMixture1d[0].weight ? kMixture1d[0] : kMixture1d[1];
    xs.push_back(c.mean + c.sigma * rng.normal());
  }
  return xs;
}

FlowPlot1d mixture1d_plot() {
  FlowPlot1d plot;
  plot.title = "1-D mixture — exact density and CDF, 2000 points";
  plot.data = mixture1d_samples(2000, 1);
  plot.samples = mixture1d_samples(2000, 2);
  plot.log_density = [](const std::vector<double>& x, std::vector<double>& log_p) {
    for (std::size_t i = 0; i < x.size(); ++i) log_p[i] = std::log(mixture1d_density(x[i]));
  };
  plot.cdf = [](const std::vector<double>& x, std::vector<double>& z) {
    for (std::size_t i = 0; i < x.size(); ++i) z[i] = mixture1d_cdf(x[i]);
  };
  plot.curves = loss_curves();
  return plot;
}

// The pixel column of a 1-D panel nearest x, and the x it shows.
int column_of(const FlowPlot1dLayout& l, const PixelRect& r, double x) {
  return r.x + static_cast<int>((x - l.lo) / (l.hi - l.lo) * r.w);
}
double x_of_column(const FlowPlot1dLayout& l, const PixelRect& r, int col) {
  return l.lo + (col - r.x + 0.5) * (l.hi - l.lo) / r.w;
}
int row_of(const PixelRect& r, double v, double y_lo, double y_hi) {
  return r.y + static_cast<int>((y_hi - v) / (y_hi - y_lo) * r.h);
}

bool is_curve_red(const Image& image, int x, int y) {
  const unsigned char* p = image.rgb.get() + (static_cast<std::size_t>(y) * image.w + x) * 3;
  return p[0] > 150 && p[0] > p[1] + 80 && p[0] > p[2] + 80;
}

// Whether the curve's red is within `radius` pixels of (x, y).
bool red_near(const Image& image, int x, int y, int radius) {
  for (int dy = -radius; dy <= radius; ++dy) {
    for (int dx = -radius; dx <= radius; ++dx) {
      if (is_curve_red(image, x + dx, y + dy)) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("plot 1-D: density curve over the histogram, the map against the data CDF", "[plot]") {
  TempDir dir;
  const FlowPlot1d plot = mixture1d_plot();
  const std::string path = dir.file("mixture1d.png");
  write_flow_plot(path, plot);
  const Image image = read_png(path);
  const FlowPlot1dLayout layout = flow_plot_layout(plot);
  CHECK(image.w == layout.width);
  CHECK(image.h == layout.height);
  CHECK(layout.lo < -2.5);
  CHECK(layout.hi > 2.5);
  // The panel's top leaves room for the narrow peak (about 0.46).
  CHECK(layout.p_top > mixture1d_density(-1.5));
  CHECK(layout.p_top < 2 * mixture1d_density(-1.5));
  CHECK(layout.z_lo <= 0);
  CHECK(layout.z_hi >= 1);

  // The density curve passes through the exact p(x) at each mode and far
  // away, and sits much higher (smaller rows) at the modes.
  const PixelRect& d = layout.density;
  int far_row = 0;
  {
    const int col = column_of(layout, d, layout.lo + 0.03 * (layout.hi - layout.lo));
    far_row = row_of(d, mixture1d_density(x_of_column(layout, d, col)), 0, layout.p_top);
    CHECK(red_near(image, col, far_row, 2));
  }
  for (double mode : {-1.5, 1.5}) {
    const int col = column_of(layout, d, mode);
    const int row = row_of(d, mixture1d_density(x_of_column(layout, d, col)), 0, layout.p_top);
    CHECK(red_near(image, col, row, 2));
    CHECK(row < far_row - d.h / 3);
    // Above the curve there is no curve.
    CHECK_FALSE(red_near(image, col, (d.y + row) / 2, 2));
  }

  // The map panel: ink near (mode, F(mode)) for both modes.
  const PixelRect& m = layout.map;
  for (double mode : {-1.5, 1.5}) {
    const int col = column_of(layout, m, mode);
    const int row = row_of(m, mixture1d_cdf(x_of_column(layout, m, col)), layout.z_lo, layout.z_hi);
    CHECK(red_near(image, col, row, 2));
    CHECK_FALSE(image.is_white(col, row));
  }
}

TEST_CASE("plot 1-D: degenerate inputs still give an image", "[plot]") {
  TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  FlowPlot1d plot;
  std::string name = "empty1d";
  SECTION("nothing at all") {}
  SECTION("NaN density and map, non-finite data") {
    name = "nan1d";
    plot.data = {nan, 1, std::numeric_limits<double>::infinity(), 2};
    plot.samples = {nan};
    plot.log_density = [&](const std::vector<double>&, std::vector<double>& log_p) {
      std::fill(log_p.begin(), log_p.end(), nan);
    };
    plot.cdf = [&](const std::vector<double>&, std::vector<double>& z) { z.clear(); };
  }
  SECTION("no map: the samples' histogram instead") {
    name = "nocdf1d";
    plot = mixture1d_plot();
    plot.cdf = nullptr;
    plot.panel_px = 1;
  }
  SECTION("all-equal data, a density too large for exp") {
    name = "constant1d";
    plot.data = std::vector<double>(100, 0.5);
    plot.log_density = [](const std::vector<double>& x, std::vector<double>& log_p) {
      for (std::size_t i = 0; i < x.size(); ++i) log_p[i] = 800 - x[i] * x[i];
    };
    plot.cdf = [](const std::vector<double>& x, std::vector<double>& z) {
      for (std::size_t i = 0; i < x.size(); ++i) z[i] = 1e300 * x[i];
    };
  }
  const std::string path = dir.file(name + ".png");
  write_flow_plot(path, plot);
  const Image image = read_png(path);
  CHECK(image.w == flow_plot_layout(plot).width);
  CHECK(image.h == flow_plot_layout(plot).height);
}

TEST_CASE("plot: an unwritable path is an error naming it", "[plot]") {
  FlowPlot plot;
  const std::string path = "/nonexistent-dir/plot.png";
  REQUIRE_THROWS_WITH(write_flow_plot(path, plot),
                      Catch::Contains("cannot write '/nonexistent-dir/plot.png'"));
}

TEST_CASE("plot: ticks are nice numbers with just enough decimals", "[plot]") {
  CHECK(nice_ticks({0, 2000}, 4) == std::vector<double>{0, 500, 1000, 1500, 2000});
  CHECK(nice_ticks({-2.7, 3.1}, 5) == std::vector<double>{-2, -1, 0, 1, 2, 3});
  CHECK(nice_ticks({1, 1}, 5).empty());
  CHECK(tick_label(0.30000000000000004, 0.1) == "0.3");
  CHECK(tick_label(-1e-17, 0.5) == "0.0");
  CHECK(tick_label(2.5, 0.25) == "2.50");
  CHECK(tick_label(1500, 500) == "1500");
}
