// Checkpoints on top of the safetensors reader and writer.
#include "runtime/io/Checkpoint.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/DataError.hpp"
#include "runtime/KeptRanges.hpp"
#include "runtime/io/Safetensors.hpp"
#include "support/Echo.hpp"

namespace nfc {

namespace {

using Json = nlohmann::json;

// The checkpoint conventions this nfc writes and reads (docs/formats.md).
constexpr const char* kFormatVersion = "1";
// Beyond this, float32 products of parameters overflow; no trained network
// holds such a value.
constexpr double kMaxParamMagnitude = 1e30;

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

// A state file is data: a field of the wrong type or beyond int64 (which
// nlohmann would convert with a cast) is refused by name.
struct BadField {
  std::string field;
};

int64_t integer(const Json& j, const std::string& field) {
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX)))
    throw BadField{field};
  return j.get<int64_t>();
}

double real(const Json& j, const std::string& field) {
  if (!j.is_number()) throw BadField{field};
  return j.get<double>();
}

bool boolean(const Json& j, const std::string& field) {
  if (!j.is_boolean()) throw BadField{field};
  return j.get<bool>();
}

std::vector<TrainRecord> history_from(const Json& h) {
  if (!h.is_array()) throw BadField{"history"};
  std::vector<TrainRecord> out;
  for (const auto& r : h) {
    if (!r.is_array() || r.size() != 4) throw BadField{"history"};
    TrainRecord rec;
    rec.step = integer(r[0], "history");
    rec.train_nll = r[1].is_null() ? NAN : real(r[1], "history");
    rec.val_nll = r[2].is_null() ? NAN : real(r[2], "history");
    rec.lr = real(r[3], "history");
    out.push_back(rec);
  }
  return out;
}

// JSON has no NaN or Inf: store them as null.
Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}
double number_from(const Json& j, double missing, const std::string& field) {
  return j.is_null() ? missing : real(j, field);
}

// Parameters come from disk: a NaN, an infinity or a value no trained
// network holds (beyond ±1e30, where float32 products overflow) would give
// NaN densities with exit 0. "inf at index 3", or empty.
std::string unusable_value(const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]) || std::abs(values[i]) > kMaxParamMagnitude)
      return fmt::format("{} at index {}", values[i], i);
  return {};
}

// The nfc.standardize metadata: a mean and a positive finite scale per data
// column.
Standardizer standardizer_from(const std::string& path, const std::string& text, int dim,
                               int context_dim) {
  Standardizer st;
  try {
    const Json j = Json::parse(text);
    st = Standardizer{j.at("mean").get<std::vector<double>>(),
                      j.at("scale").get<std::vector<double>>(), dim};
  } catch (const Json::exception&) {
    throw DataError(path + ": metadata 'nfc.standardize' is not valid");
  }
  const size_t columns = size_t(dim + context_dim);
  if (st.mean.size() != columns || st.scale.size() != columns)
    throw DataError(fmt::format(
        "{}: metadata 'nfc.standardize' has {} means and {} scales, the model has dim {}{}", path,
        st.mean.size(), st.scale.size(), dim,
        context_dim > 0 ? fmt::format(" and context {}", context_dim) : std::string()));
  for (int j = 0; j < int(columns); ++j)
    if (!std::isfinite(st.mean[size_t(j)]) || !std::isfinite(st.scale[size_t(j)]) ||
        st.scale[size_t(j)] <= 0)
      throw DataError(fmt::format(
          "{}: metadata 'nfc.standardize' column {}: mean {}, scale {} (a finite mean and a "
          "finite scale above 0 are needed)",
          path, j, st.mean[size_t(j)], st.scale[size_t(j)]));
  return st;
}

}  // namespace

void save_params(const std::string& path, const std::vector<ParamTensor>& table,
                 const std::vector<double>& values, TensorDType dtype, const ModelIdentity& model,
                 const std::optional<Standardizer>& standardizer, const std::string& training) {
  std::vector<TensorView> tensors;
  for (const auto& p : table) {
    if (p.data) continue;  // a target's table: read from its file, never trained
    tensors.push_back({p.name, shape_of(p), values.data() + p.offset, size_t(p.size)});
  }
  std::map<std::string, std::string> meta = {
      {"nfc.format_version", kFormatVersion},
      {"nfc.model", model.name},
      {"nfc.source_hash", model.source_hash},
      {"nfc.dtype", dtype == TensorDType::f32 ? "f32" : "f64"}};
  if (standardizer)
    meta["nfc.standardize"] =
        Json{{"mean", standardizer->mean}, {"scale", standardizer->scale}}.dump();
  if (!training.empty()) meta["nfc.training"] = training;
  write_safetensors(path, tensors, dtype, meta);
}

SavedParams load_params(const std::string& path, const std::vector<ParamTensor>& table, int dim,
                        int context_dim) {
  const SafetensorsFile file = read_safetensors(path);
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  if (const std::string v = meta("nfc.format_version"); !v.empty() && v != kFormatVersion)
    throw DataError(fmt::format("{}: nfc.format_version '{}' is not one this nfc reads ({})", path,
                                echoed(v), kFormatVersion));
  SavedParams out;
  int64_t total = 0;
  for (const auto& p : table) total += p.size;
  out.values.assign(static_cast<size_t>(total), 0);
  size_t stored = 0;  // tensors a parameter file carries
  for (const auto& p : table) {
    if (p.data) {  // the model's own copy of its data table
      std::copy(p.init.begin(), p.init.end(), out.values.begin() + p.offset);
      continue;
    }
    ++stored;
    const NamedTensor* t = find_tensor(file, p.name);
    if (!t)
      throw DataError(
          fmt::format("{}: no tensor '{}': the checkpoint does not match the model", path, p.name));
    if (t->shape != shape_of(p))
      throw DataError(fmt::format("{}: tensor '{}' has shape {}, the model needs {}", path, p.name,
                                  shape_text(t->shape), shape_text(shape_of(p))));
    if (const std::string bad = unusable_value(t->values); !bad.empty())
      throw DataError(fmt::format("{}: tensor '{}' holds {}", path, p.name, bad));
    std::copy(t->values.begin(), t->values.end(), out.values.begin() + p.offset);
  }
  if (const std::string problem = kept_range_problem(table, out.values.data()); !problem.empty())
    throw DataError(fmt::format("{}: {}", path, problem));
  // Masked weights (a MADE's) are zero by definition, whatever the file says.
  zero_structural(table, out.values.data());
  if (file.tensors.size() != stored) {
    std::set<std::string> names;
    for (const auto& p : table)
      if (!p.data) names.insert(p.name);
    for (const auto& t : file.tensors)
      if (!names.count(t.name))
        throw DataError(fmt::format(
            "{}: tensor '{}' is not a parameter of the model: the checkpoint does not match", path,
            echoed(t.name)));
  }
  out.source_hash = meta("nfc.source_hash");
  out.training = meta("nfc.training");
  if (const std::string s = meta("nfc.standardize"); !s.empty())
    out.standardizer = standardizer_from(path, s, dim, context_dim);
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
  // A vector of another length fails write_safetensors' shape check.
  auto view = [n](const char* name, const auto& values) {
    return TensorView{name, {n}, values.data(), values.size()};
  };
  std::vector<TensorView> tensors = {view("params", current_params)};
  if (!s.optimizer.m.empty())  // in the flow's precision, written as doubles: exact
    for (const auto& [name, moments] :
         {std::pair{"adam.m", &s.optimizer.m}, {"adam.v", &s.optimizer.v}})
      moments->visit([&](const auto& values) { tensors.push_back(view(name, values)); });
  if (!s.best_params.empty()) tensors.push_back(view("best_params", s.best_params));
  const Json state = {{"step", s.step},
                      {"adam_t", s.optimizer.t},
                      {"best_val", number(s.best_val)},
                      {"best_step", s.best_step},
                      {"evals_since_best", s.evals_since_best},
                      {"skipped_steps", s.skipped_steps},
                      {"bad_in_a_row", s.bad_in_a_row},
                      {"lr_scale", s.lr_scale},
                      {"diverged", s.diverged},
                      {"initial_loss", number(s.initial_loss)},
                      {"running_loss", s.running_loss},
                      {"running_count", s.running_count},
                      {"stopped_early", s.stopped_early},
                      {"finished", s.finished},
                      {"history", history_json(s.history)}};
  write_safetensors(path, tensors, TensorDType::f64,
                    {{"nfc.format_version", kFormatVersion},
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
  r.state.optimizer.m = Moments(tensor("adam.m", false));
  r.state.optimizer.v = Moments(tensor("adam.v", false));
  r.state.best_params = tensor("best_params", false);
  auto it = file.metadata.find("nfc.train_state");
  auto opt = file.metadata.find("nfc.train_options");
  if (it == file.metadata.end() || opt == file.metadata.end())
    throw DataError(path + ": not an nfc training state (no 'nfc.train_state' metadata)");
  r.options_json = opt->second;
  try {
    const Json j = Json::parse(it->second);
    auto at = [&](const char* field) -> const Json& {
      if (!j.is_object() || !j.contains(field)) throw BadField{field};
      return j.at(field);
    };
    TrainState& s = r.state;
    s.step = integer(at("step"), "step");
    s.optimizer.t = integer(at("adam_t"), "adam_t");
    s.best_val = number_from(at("best_val"), std::numeric_limits<double>::infinity(), "best_val");
    s.best_step = integer(at("best_step"), "best_step");
    s.evals_since_best = integer(at("evals_since_best"), "evals_since_best");
    s.skipped_steps = integer(at("skipped_steps"), "skipped_steps");
    s.bad_in_a_row = integer(at("bad_in_a_row"), "bad_in_a_row");
    s.lr_scale = real(at("lr_scale"), "lr_scale");
    s.diverged = boolean(at("diverged"), "diverged");
    // Optional: states written before it existed lack it (NaN: unknown).
    if (j.contains("initial_loss"))
      s.initial_loss = number_from(j["initial_loss"], NAN, "initial_loss");
    s.running_loss = real(at("running_loss"), "running_loss");
    s.running_count = integer(at("running_count"), "running_count");
    s.stopped_early = boolean(at("stopped_early"), "stopped_early");
    s.finished = boolean(at("finished"), "finished");
    s.history = history_from(at("history"));
    // Compared with the resuming run's options by the CLI: must be JSON too.
    if (!Json::parse(r.options_json).is_object())
      throw DataError(path + ": 'nfc.train_options' metadata is not a JSON object");
  } catch (const BadField& b) {
    throw DataError(
        fmt::format("{}: training state field '{}' is missing or not of its type", path, b.field));
  } catch (const Json::exception& e) {
    throw DataError(path + ": training state metadata is not valid (" + e.what() + ")");
  }
  return r;
}

}  // namespace nfc
