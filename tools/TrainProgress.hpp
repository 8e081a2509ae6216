// The progress line of `nfc train`: step, losses, KL, throughput, ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "runtime/Trainer.hpp"

namespace nfc::cli {

// "1:05", "2:03:04"; "?" for a negative or non-finite time.
std::string duration(double seconds);
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

 private:
  using Clock = std::chrono::steady_clock;
  bool quiet_, tty_;
  double batch_ = 1;
  Clock::time_point last_{};
};

}  // namespace nfc::cli
