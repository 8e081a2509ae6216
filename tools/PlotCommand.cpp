// `nfc plot`: one PNG of a 2-D flow (data, density, samples, loss curves) or
// of a 1-D one (data histogram with the density, the learned map, losses).
#include <fmt/format.h>
#include <fmt/ostream.h>

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
};

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
std::vector<double> data_forward(const ReadyFlow<T>& r, std::vector<double> rows, int64_t n) {
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
    data = load_flow_data(r.flow, o.data, o.data_seed, o.data_rows).to_vector();
    p.title += " - data " + o.data;
  }
  Random rng(o.seed);
  samples = data_samples(r, o.samples, rng).first;
  p.log_density = [&r, dim](const std::vector<double>& x, std::vector<double>& log_p) {
    log_p = data_log_prob(r, RowTable(int64_t(x.size()) / dim, dim, x));
  };
  p.curves = loss_curves(o.params, r.flow.params().size(), r.flow.has_target());
}

template <class T>
void plot(PlotOptions o) {
  const LoadedModel m = compile_model_file(o.model);
  const auto r = ready_flow<T>(m, o.params, 0, o.model.threads);
  if (r.flow.context_dim() > 0)  // a density per context: which one to draw is not settled
    throw UserError(fmt::format("plot does not draw conditional flows yet; '{}' has context {}",
                                o.model.path, r.flow.context_dim()));
  if (!r.flow.format().image.empty()) {
    ImagePlot p;
    if (o.data.empty()) o.data = training_data(r.training);
    p.title = fmt::format("{} - {}", r.flow.name(), o.params);
    if (!o.data.empty()) {
      // The first 64 images, all the plot shows.
      const Dataset data = load_flow_data(r.flow, o.data, o.data_seed, o.data_rows);
      p.data.resize(size_t(std::min<int64_t>(data.rows, 64) * data.cols));
      data.read_rows(0, std::min<int64_t>(data.rows, 64), p.data.data());
      p.title += " - data " + o.data;
    }
    Random rng(o.seed);
    p.samples = data_samples(r, std::min<int64_t>(o.samples, 64), rng).first;
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
      p.cdf = [&r](const std::vector<double>& x, std::vector<double>& z) {
        z = data_forward(r, x, static_cast<int64_t>(x.size()));
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
  cmd->add_option("-o,--out", o->out, "the PNG (default flow.png)");
  cmd->callback([o] { with_precision(o->model, [&]<class T>() { plot<T>(*o); }); });
}

}  // namespace nfc::cli
