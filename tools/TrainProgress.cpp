#include "tools/TrainProgress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "runtime/Dequantize.hpp"

namespace nfc::cli {

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string bits_text(double bits) {
  return std::isfinite(bits) ? fmt::format(" ({:.4f} bits/dim)", bits) : std::string();
}

std::string rate_text(double per_s) {
  if (per_s >= 1e6) return fmt::format("{:.2f}M", per_s / 1e6);
  if (per_s >= 1e3) return fmt::format("{:.0f}k", per_s / 1e3);
  return fmt::format("{:.0f}", per_s);
}

Progress::Progress(bool quiet) : quiet_(quiet), tty_(isatty(STDOUT_FILENO)) {}

void Progress::update(const TrainEvent& e, double loss, double val, double kl, double samples_per_s,
                      bool record, const VariationalStats* variational) {
  if (quiet_) return;
  const auto now = Clock::now();
  if (!record && (!tty_ || now - last_ < std::chrono::milliseconds(100))) return;
  last_ = now;
  const double eta = double(e.total - e.step) * batch_ / samples_per_s;
  std::string line = fmt::format("step {:>{}}/{}  loss {:8.4f}", e.step,
                                 std::to_string(e.total).size(), e.total, loss);
  if (variational)
    line += fmt::format("  ELBO {:.4f}  log Z {:.4f} +- {:.4f}  ESS/N {:.3f}", variational->elbo,
                        variational->log_z, variational->log_z_se, variational->ess);
  else if (std::isfinite(val))
    line += fmt::format("  val {:8.4f}", val);
  if (bits_dim_ > 0 && !variational)
    line +=
        fmt::format("  {:.4f} bits/dim", bits_per_dim(std::isfinite(val) ? val : loss, bits_dim_));
  if (std::isfinite(kl)) line += fmt::format("  KL {:.4f}", kl);
  line += fmt::format("  {} samples/s  ETA {}", rate_text(samples_per_s), duration(eta));
  if (tty_) {
    fmt::print("\r\033[K{}", line);
    if (record) fmt::print("\n");
  } else if (record) {
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

}  // namespace nfc::cli
