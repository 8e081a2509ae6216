// The progress line of `nfc train`: step, losses, KL, throughput, ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "runtime/Trainer.hpp"

namespace nfc::cli {

// "1:05", "2:03:04"; "?" for a negative or non-finite time.
std::string duration(double seconds);
// " (2.9812 bits/dim)", or empty for NaN.
std::string bits_text(double bits);
// "950", "12k", "1.25M"
std::string rate_text(double per_s);

// The one progress line: redrawn in place on a terminal, printed at every
// evaluation otherwise (logs and CI get one line per record, no \r noise).
class Progress {
 public:
  explicit Progress(bool quiet);

  // `loss` and `val` in the data's units (they may differ from e's).
  // `variational`: the evaluation's estimates (variational training).
  void update(const TrainEvent& e, double loss, double val, double kl, double samples_per_s,
              bool record, const VariationalStats* variational = nullptr);
  void set_batch(int64_t b) { batch_ = double(b); }
  // Also show the validation NLL (the loss without one) in bits/dim of dim values.
  void set_bits_per_dim(int dim) { bits_dim_ = dim; }

 private:
  using Clock = std::chrono::steady_clock;
  bool quiet_, tty_;
  double batch_ = 1;
  int bits_dim_ = 0;
  Clock::time_point last_{};
};

}  // namespace nfc::cli
