// `nfc plot`: one PNG of a 2-D flow (data, density, samples, loss curves) or
// of a 1-D one (data histogram with the density, the learned map, losses).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "plot/Plot.hpp"
#include "tools/FlowIO.hpp"

namespace nfc::cli {

namespace {

struct PlotOptions {
  ModelOptions model;
  std::string params, data, out = "flow.png";
  uint64_t data_seed = 0;
  int64_t data_rows = 2000, samples = 2000;
  uint64_t seed = 1;
  std::vector<double> context;  // a conditional flow is drawn at this c
};

// The first `dim` values of rows of `cols`: a conditional flow's data
// without their contexts.
std::vector<double> x_columns(const std::vector<double>& rows, int cols, int dim) {
  if (cols == dim) return rows;
  std::vector<double> x;
  for (size_t i = 0; i < rows.size(); i += size_t(cols))
    x.insert(x.end(), rows.begin() + i, rows.begin() + i + dim);
  return x;
}

// The x of the fifth of the rows (at least 50) whose context lies nearest
// `context` (Euclidean): the data a density at that context should match.
std::vector<double> x_near_context(const std::vector<double>& rows, int cols, int dim,
                                   const std::vector<double>& context) {
  const int64_t n = int64_t(rows.size()) / cols;
  std::vector<std::pair<double, int64_t>> by_distance;
  for (int64_t r = 0; r < n; ++r) {
    double d2 = 0;
    for (size_t k = 0; k < context.size(); ++k) {
      const double d = rows[size_t(r * cols + dim) + k] - context[k];
      d2 += d * d;
    }
    by_distance.push_back({d2, r});
  }
  const int64_t keep = std::min(n, std::max<int64_t>(50, n / 5));
  std::partial_sort(by_distance.begin(), by_distance.begin() + keep, by_distance.end());
  std::vector<double> x;
  for (int64_t i = 0; i < keep; ++i) {
    const auto first = rows.begin() + by_distance[size_t(i)].second * cols;
    x.insert(x.end(), first, first + dim);
  }
  return x;
}

// Loss curves from the training state saved beside the parameters, if any.
// Variational training's are the reverse-KL loss and -ELBO.
std::vector<LossCurve> loss_curves(const std::string& params_path, size_t param_count,
                                   bool variational) {
  const std::string state = state_path(params_path);
  if (!std::filesystem::exists(state)) return {};
  const TrainState s = load_train_state(state, param_count).state;
  LossCurve train{variational ? "train loss" : "train NLL", {}, {}},
      val{variational ? "-ELBO" : "validation NLL", {}, {}};
  for (const auto& r : s.history) {
    if (std::isfinite(r.train_nll)) {
      train.step.push_back(double(r.step));
      train.value.push_back(r.train_nll);
    }
    if (std::isfinite(r.val_nll)) {
      val.step.push_back(double(r.step));
      val.value.push_back(r.val_nll);
    }
  }
  return {train, val};
}

// The data a checkpoint was trained on, from its metadata.
std::string training_data(const std::string& training) {
  if (training.empty()) return {};
  const auto j = nlohmann::json::parse(training, nullptr, false);
  return j.is_object() && j.contains("data") ? j["data"].get<std::string>() : std::string();
}

// z = f(x) for rows in data coordinates (standardised first if the flow was
// trained on standardised data).
template <class T>
std::vector<double> data_forward(const ReadyFlow<T>& r, std::vector<double> rows, int64_t n,
                                 const std::vector<double>& context) {
  rows = with_context(rows, n, r.flow.dim(), context, r.flow.context_dim());
  if (r.standardizer) r.standardizer->apply(rows.data(), n);
  std::vector<T> x(rows.begin(), rows.end()), z(x.size()), logdet(static_cast<size_t>(n));
  r.flow.forward(x.data(), z.data(), logdet.data(), n);
  return {z.begin(), z.end()};
}

// Fills what both figures share: title, data, samples, density, losses.
template <class T, class Figure, class Values>
void fill_common(Figure& p, Values& data, Values& samples, PlotOptions& o, const ReadyFlow<T>& r) {
  const int dim = r.flow.dim();
  if (o.data.empty()) o.data = training_data(r.training);
  p.title = fmt::format("{} - {}", r.flow.name(), o.params);
  if (!o.data.empty()) {
    const Dataset d = load_flow_data(r.flow, o.data, o.data_seed, o.data_rows);
    data =
        o.context.empty() ? d.to_vector() : x_near_context(d.to_vector(), d.cols, dim, o.context);
    p.title += " - data " + o.data;
  }
  if (!o.context.empty())
    p.title += fmt::format(" - context {}{}", fmt::join(o.context, ", "),
                           o.data.empty() ? "" : " (data: the rows of nearest context)");
  Random rng(o.seed);
  samples = data_samples(r, o.samples, rng, o.context).first;
  p.log_density = [&r, &o, dim](const std::vector<double>& x, std::vector<double>& log_p) {
    const int64_t n = int64_t(x.size()) / dim;
    log_p = data_log_prob(
        r, RowTable(n, r.flow.row_dim(), with_context(x, n, dim, o.context, r.flow.context_dim())));
  };
  p.curves = loss_curves(o.params, r.flow.params().size(), r.flow.has_target());
}

template <class T>
void plot(PlotOptions o) {
  const LoadedModel m = compile_model_file(o.model);
  const auto r = ready_flow<T>(m, o.params, 0, o.model.threads);
  // A conditional flow is a density per context: drawn at the one given.
  const int context_dim = r.flow.context_dim();
  if (context_dim > 0 && o.context.empty())
    throw UserError(fmt::format(
        "'{}' is conditional (context {}): plot draws p(x | c) at one context, give --context "
        "with {} value{}",
        r.flow.name(), context_dim, context_dim, context_dim == 1 ? "" : "s"));
  sample_context(r.flow.name(), context_dim, o.context, {});  // the values' count and finiteness
  if (!r.flow.format().image.empty()) {
    ImagePlot p;
    if (o.data.empty()) o.data = training_data(r.training);
    p.title = fmt::format("{} - {}", r.flow.name(), o.params);
    if (!o.data.empty()) {
      // The first 64 images, all the plot shows.
      const Dataset data = load_flow_data(r.flow, o.data, o.data_seed, o.data_rows);
      std::vector<double> first(size_t(std::min<int64_t>(data.rows, 64) * data.cols));
      data.read_rows(0, std::min<int64_t>(data.rows, 64), first.data());
      p.data = x_columns(first, data.cols, r.flow.dim());
      p.title += " - data " + o.data;
    }
    Random rng(o.seed);
    p.samples = data_samples(r, std::min<int64_t>(o.samples, 64), rng, o.context).first;
    const ImageRows shown = image_rows(r.flow, p.samples, "plot");
    p.shape = shown.shape;
    p.max_value = shown.max_value;
    p.curves = loss_curves(o.params, r.flow.params().size(), r.flow.has_target());
    write_image_plot(o.out, p);
  } else if (r.flow.dim() == 2) {
    FlowPlot p;
    fill_common(p, p.data.xy, p.samples.xy, o, r);
    if (r.flow.has_target()) {
      p.title += " - target " + o.model.target;
      p.target_density = [&r](const std::vector<double>& xy, std::vector<double>& log_p) {
        const std::vector<T> x(xy.begin(), xy.end());
        std::vector<T> out(x.size() / 2);
        r.flow.target_log_prob(x.data(), out.data(), int64_t(out.size()));
        log_p.assign(out.begin(), out.end());
      };
    }
    write_flow_plot(o.out, p);
  } else if (r.flow.dim() == 1) {
    FlowPlot1d p;
    fill_common(p, p.data, p.samples, o, r);
    // With a uniform base on [0, 1], z = f(x) is the model's CDF.
    const BaseSettings& base = r.flow.base_settings();
    if (base.kind == BaseKind::uniform && base.low == 0 && base.high == 1) {
      p.cdf = [&r, &o](const std::vector<double>& x, std::vector<double>& z) {
        z = data_forward(r, x, static_cast<int64_t>(x.size()), o.context);
      };
    }
    write_flow_plot(o.out, p);
  } else {
    throw UserError(fmt::format(
        "plot draws 1-D and 2-D flows and image flows; '{}' has dim {} and no image shape",
        o.model.path, r.flow.dim()));
  }
  fmt::print("wrote {}\n", std::filesystem::absolute(o.out).string());
}

}  // namespace

void register_plot(CLI::App& app) {
  auto o = std::make_shared<PlotOptions>();
  auto* cmd =
      app.add_subcommand("plot",
                         "PNG of a 1-D or 2-D flow (data, density, samples or map, losses) or of "
                         "an image flow (data, samples, losses)");
  add_model_options(cmd, o->model);
  cmd->add_option("--params", o->params, "trained parameters (.safetensors)")->required();
  cmd->add_option("--data", o->data, "data to show (default: what the parameters were trained on)");
  cmd->add_option("--data-seed", o->data_seed, "seed of a builtin dataset (default 0)");
  cmd->add_option("--data-rows", o->data_rows, "points of data to draw (default 2000)");
  cmd->add_option("--samples", o->samples, "samples to draw (default 2000)");
  cmd->add_option("--seed", o->seed, "seed of the samples (default 1)");
  cmd->add_option("--context", o->context,
                  "conditional flows: the context c to draw p(x | c) at, V,V,...")
      ->delimiter(',');
  cmd->add_option("-o,--out", o->out, "the PNG (default flow.png)");
  cmd->callback([o] { with_precision(o->model, [&]<class T>() { plot<T>(*o); }); });
}

}  // namespace nfc::cli
