// Checkpoints: a flow's parameters as .safetensors (one named tensor per
// parameter tensor, so they load in Python unchanged), and the training
// state beside them for an exact --resume. Both are written atomically.
//
// Metadata keys of the parameter file:
//   nfc.format_version  "1"
//   nfc.model           the flow's name
//   nfc.source_hash     fnv1a64 of the .nf source, 16 hex digits
//   nfc.dtype           "f32" or "f64"
//   nfc.standardize     JSON {"mean": [...], "scale": [...]} when the data were standardised
//   nfc.training        JSON summary of the run that produced it (optional)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/Flow.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Standardize.hpp"
#include "runtime/io/TensorDType.hpp"

namespace nfc {

struct ModelIdentity {
  std::string name;
  std::string source_hash;
};

struct SavedParams {
  std::vector<double> values;  // flat, in the parameter table's order
  std::optional<Standardizer> standardizer;
  std::string source_hash;  // of the model that wrote it
  std::string training;     // nfc.training, may be empty
};

void save_params(const std::string& path, const std::vector<ParamTensor>& table,
                 const std::vector<double>& values, TensorDType dtype, const ModelIdentity& model,
                 const std::optional<Standardizer>& standardizer, const std::string& training = {});

// Reads parameters for a model with this table, `dim` data columns and a
// context of `context_dim`. A DataError names the file and what is wrong: a
// tensor missing, extra or of another shape; a value that is not finite or
// beyond ±1e30; a standardiser whose length is not dim + context_dim or
// whose scale is not finite and positive; an
// nfc.format_version this nfc does not read (files of other writers, which
// have none, are welcome).
SavedParams load_params(const std::string& path, const std::vector<ParamTensor>& table, int dim,
                        int context_dim = 0);

// The training state file that goes with a parameter file.
std::string state_path(const std::string& params_path);

// What resume must reproduce besides TrainState: the flow's current
// parameters, and the options and data the run was started with.
struct ResumeInfo {
  TrainState state;
  std::vector<double> current_params;
  std::string options_json;  // the run's options, compared on resume
};

void save_train_state(const std::string& path, const TrainState& state,
                      const std::vector<double>& current_params, const std::string& options_json);
ResumeInfo load_train_state(const std::string& path, size_t param_count);

}  // namespace nfc
