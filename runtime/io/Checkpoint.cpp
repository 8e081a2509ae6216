// Checkpoints on top of the safetensors reader and writer.
#include "runtime/io/Checkpoint.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "runtime/DataError.hpp"
#include "runtime/io/Safetensors.hpp"

namespace nfc {

namespace {

using Json = nlohmann::json;

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::vector<int64_t> shape_of(const ParamTensor& p) {
  return {p.shape.begin(), p.shape.end()};
}

const NamedTensor* find_tensor(const SafetensorsFile& f, const std::string& name) {
  for (const auto& t : f.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Json history_json(const std::vector<TrainRecord>& history) {
  Json h = Json::array();
  for (const auto& r : history)
    h.push_back(
        {r.step, r.train_nll, std::isnan(r.val_nll) ? Json(nullptr) : Json(r.val_nll), r.lr});
  return h;
}

std::vector<TrainRecord> history_from(const Json& h) {
  std::vector<TrainRecord> out;
  for (const auto& r : h) {
    TrainRecord rec;
    rec.step = r.at(0).get<int64_t>();
    rec.train_nll = r.at(1).is_null() ? NAN : r.at(1).get<double>();
    rec.val_nll = r.at(2).is_null() ? NAN : r.at(2).get<double>();
    rec.lr = r.at(3).get<double>();
    out.push_back(rec);
  }
  return out;
}

// JSON has no NaN or Inf: store them as null.
Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}
double number_from(const Json& j, double missing) {
  return j.is_null() ? missing : j.get<double>();
}

}  // namespace

void save_params(const std::string& path, const std::vector<ParamTensor>& table,
                 const std::vector<double>& values, TensorDType dtype, const ModelIdentity& model,
                 const std::optional<Standardizer>& standardizer, const std::string& training) {
  std::vector<NamedTensor> tensors;
  for (const auto& p : table) {
    NamedTensor t{p.name, shape_of(p), {}};
    t.values.assign(values.begin() + p.offset, values.begin() + p.offset + p.size);
    tensors.push_back(std::move(t));
  }
  std::map<std::string, std::string> meta = {
      {"nfc.format_version", "1"},
      {"nfc.model", model.name},
      {"nfc.source_hash", model.source_hash},
      {"nfc.dtype", dtype == TensorDType::f32 ? "f32" : "f64"}};
  if (standardizer)
    meta["nfc.standardize"] =
        Json{{"mean", standardizer->mean}, {"scale", standardizer->scale}}.dump();
  if (!training.empty()) meta["nfc.training"] = training;
  write_safetensors(path, tensors, dtype, meta);
}

SavedParams load_params(const std::string& path, const std::vector<ParamTensor>& table) {
  const SafetensorsFile file = read_safetensors(path);
  SavedParams out;
  int64_t total = 0;
  for (const auto& p : table) total += p.size;
  out.values.assign(static_cast<size_t>(total), 0);
  for (const auto& p : table) {
    const NamedTensor* t = find_tensor(file, p.name);
    if (!t)
      throw DataError(
          fmt::format("{}: no tensor '{}': the checkpoint does not match the model", path, p.name));
    if (t->shape != shape_of(p))
      throw DataError(fmt::format("{}: tensor '{}' has shape {}, the model needs {}", path, p.name,
                                  shape_text(t->shape), shape_text(shape_of(p))));
    std::copy(t->values.begin(), t->values.end(), out.values.begin() + p.offset);
  }
  // Masked weights (a MADE's) are zero by definition, whatever the file says.
  zero_structural(table, out.values.data());
  if (file.tensors.size() != table.size())
    for (const auto& t : file.tensors) {
      bool known = false;
      for (const auto& p : table) known |= p.name == t.name;
      if (!known)
        throw DataError(fmt::format(
            "{}: tensor '{}' is not a parameter of the model: the checkpoint does not match", path,
            t.name));
    }
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  out.source_hash = meta("nfc.source_hash");
  out.training = meta("nfc.training");
  if (const std::string s = meta("nfc.standardize"); !s.empty()) {
    try {
      const Json j = Json::parse(s);
      out.standardizer = Standardizer{j.at("mean").get<std::vector<double>>(),
                                      j.at("scale").get<std::vector<double>>()};
    } catch (const Json::exception&) {
      throw DataError(path + ": metadata 'nfc.standardize' is not valid");
    }
  }
  return out;
}

std::string state_path(const std::string& params_path) {
  const std::string ext = ".safetensors";
  if (params_path.size() > ext.size() &&
      params_path.compare(params_path.size() - ext.size(), ext.size(), ext) == 0)
    return params_path.substr(0, params_path.size() - ext.size()) + ".state.safetensors";
  return params_path + ".state.safetensors";
}

void save_train_state(const std::string& path, const TrainState& s,
                      const std::vector<double>& current_params, const std::string& options_json) {
  const int64_t n = static_cast<int64_t>(current_params.size());
  std::vector<NamedTensor> tensors = {{"params", {n}, current_params}};
  if (!s.optimizer.m.empty()) {
    tensors.push_back({"adam.m", {n}, s.optimizer.m});
    tensors.push_back({"adam.v", {n}, s.optimizer.v});
  }
  if (!s.best_params.empty()) tensors.push_back({"best_params", {n}, s.best_params});
  const Json state = {{"step", s.step},
                      {"adam_t", s.optimizer.t},
                      {"best_val", number(s.best_val)},
                      {"best_step", s.best_step},
                      {"evals_since_best", s.evals_since_best},
                      {"skipped_steps", s.skipped_steps},
                      {"bad_in_a_row", s.bad_in_a_row},
                      {"lr_scale", s.lr_scale},
                      {"diverged", s.diverged},
                      {"running_loss", s.running_loss},
                      {"running_count", s.running_count},
                      {"stopped_early", s.stopped_early},
                      {"finished", s.finished},
                      {"history", history_json(s.history)}};
  write_safetensors(path, tensors, TensorDType::f64,
                    {{"nfc.format_version", "1"},
                     {"nfc.train_state", state.dump()},
                     {"nfc.train_options", options_json}});
}

ResumeInfo load_train_state(const std::string& path, size_t param_count) {
  const SafetensorsFile file = read_safetensors(path);
  auto tensor = [&](const char* name, bool required) -> std::vector<double> {
    const NamedTensor* t = find_tensor(file, name);
    if (!t) {
      if (required) throw DataError(fmt::format("{}: no tensor '{}'", path, name));
      return {};
    }
    if (t->values.size() != param_count)
      throw DataError(fmt::format("{}: tensor '{}' has {} values, the model has {} parameters",
                                  path, name, t->values.size(), param_count));
    return t->values;
  };
  ResumeInfo r;
  r.current_params = tensor("params", true);
  r.state.optimizer.m = tensor("adam.m", false);
  r.state.optimizer.v = tensor("adam.v", false);
  r.state.best_params = tensor("best_params", false);
  auto it = file.metadata.find("nfc.train_state");
  auto opt = file.metadata.find("nfc.train_options");
  if (it == file.metadata.end() || opt == file.metadata.end())
    throw DataError(path + ": not an nfc training state (no 'nfc.train_state' metadata)");
  r.options_json = opt->second;
  try {
    const Json j = Json::parse(it->second);
    TrainState& s = r.state;
    s.step = j.at("step").get<int64_t>();
    s.optimizer.t = j.at("adam_t").get<int64_t>();
    s.best_val = number_from(j.at("best_val"), std::numeric_limits<double>::infinity());
    s.best_step = j.at("best_step").get<int64_t>();
    s.evals_since_best = j.at("evals_since_best").get<int64_t>();
    s.skipped_steps = j.at("skipped_steps").get<int64_t>();
    s.bad_in_a_row = j.at("bad_in_a_row").get<int64_t>();
    s.lr_scale = j.at("lr_scale").get<double>();
    s.diverged = j.at("diverged").get<bool>();
    s.running_loss = j.at("running_loss").get<double>();
    s.running_count = j.at("running_count").get<int64_t>();
    s.stopped_early = j.at("stopped_early").get<bool>();
    s.finished = j.at("finished").get<bool>();
    s.history = history_from(j.at("history"));
    // Compared with the resuming run's options by the CLI: must be JSON too.
    if (!Json::parse(r.options_json).is_object())
      throw DataError(path + ": 'nfc.train_options' metadata is not a JSON object");
  } catch (const Json::exception& e) {
    throw DataError(path + ": training state metadata is not valid (" + e.what() + ")");
  }
  return r;
}

}  // namespace nfc
