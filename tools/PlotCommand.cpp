// `nfc plot`: one PNG of a 2-D flow: data, density, samples, loss curves.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/Plot.hpp"
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
std::vector<LossCurve> loss_curves(const std::string& params_path, size_t param_count) {
  const std::string state = state_path(params_path);
  if (!std::filesystem::exists(state)) return {};
  const TrainState s = load_train_state(state, param_count).state;
  LossCurve train{"train NLL", {}, {}}, val{"validation NLL", {}, {}};
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

template <class T>
void plot(PlotOptions o) {
  const LoadedModel m = compile_model_file(o.model);
  const auto r = ready_flow<T>(m, o.params, 0);
  if (r.flow.dim() != 2)
    throw UserError(
        fmt::format("plot draws 2-D flows; '{}' has dim {}", o.model.path, r.flow.dim()));
  if (o.data.empty()) o.data = training_data(r.training);
  FlowPlot p;
  p.title = fmt::format("{} - {}", r.flow.name(), o.params);
  if (!o.data.empty()) {
    const Dataset data = load_model_data(o.data, 2, o.data_seed, o.data_rows);
    p.data.xy = data.values;
    p.title += " - data " + o.data;
  }
  p.samples.xy = data_samples(r, o.samples, o.seed).first;
  p.log_density = [&](const std::vector<double>& xy, std::vector<double>& log_p) {
    log_p = data_log_prob(r, xy, static_cast<int64_t>(xy.size() / 2));
  };
  p.curves = loss_curves(o.params, r.flow.params().size());
  write_flow_plot(o.out, p);
  fmt::print("wrote {}\n", std::filesystem::absolute(o.out).string());
}

}  // namespace

void register_plot(CLI::App& app) {
  auto o = std::make_shared<PlotOptions>();
  auto* cmd = app.add_subcommand("plot", "PNG of a 2-D flow: data, density, samples, losses");
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
