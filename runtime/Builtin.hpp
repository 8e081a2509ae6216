// Built-in 2-D toy datasets (`--data builtin:moons`), generated from a seed
// with the runtime's RNG so the same seed gives the same data everywhere.
// For 8gaussians, checkerboard and rings the exact log density of the
// generating distribution is available, so a trained flow can be compared
// with the truth. Exact formulas (also in docs/formats.md); U = uniform on
// [0, 1), N = standard normal, all draws independent:
//
//  moons        choose a moon with probability 1/2, t = pi U,
//               upper (cos t, sin t), lower (1 - cos t, 0.5 - sin t),
//               (x, y) = 4/3 * (m + 0.1 (N1, N2) - (0.5, 0.25)):
//               scikit-learn's make_moons(noise=0.1) with random t, centred
//               and scaled so the noise-free moons span [-2, 2] x [-1, 1].
//               No closed-form density.
//  8gaussians   k uniform in 0..7, x = 2 (cos(k pi/4), sin(k pi/4)) + 0.2 (N1, N2);
//               p(x) = 1/8 sum_k N(x; c_k, 0.2^2 I).
//  checkerboard uniform on the 8 squares [i-2, i-1) x [j-2, j-1) of the
//               4x4 board on [-2, 2)^2 with i + j even; p = 1/8 there, 0 elsewhere.
//  rings        ring k = 1..4 of radius r_k = k/2 with probability w_k = k/10
//               (proportional to its length), theta = 2 pi U,
//               rho = r_k + 0.08 N, x = rho (cos theta, sin theta);
//               rho may be negative, so each x != 0 has the two preimages
//               (|x|, theta) and (-|x|, theta + pi) and
//               p(x) = sum_k w_k [N(|x|; r_k, 0.08^2) + N(-|x|; r_k, 0.08^2)] / (2 pi |x|).
//
// A conditional one, for flows with context = 1; rows are (x0, x1, c), the
// context last, and its density is the conditional log p(x | c):
//
//  cond_gaussians  c = -1 + 2U; x | c ~ N(m(c), S(c)) with m(c) = (1.5 c, c^2 - 0.5),
//                  standard deviations 0.5, 0.5 and correlation r(c) = 0.8 c:
//                  x0 = m0 + 0.5 N1, x1 = m1 + 0.5 (r N1 + sqrt(1 - r^2) N2);
//                  log p(x | c) = -log(2 pi 0.25 sqrt(1 - r^2))
//                                 - (u^2 - 2 r u v + v^2) / (2 (1 - r^2)),
//                  u = (x0 - m0) / 0.5, v = (x1 - m1) / 0.5.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nfc {

struct BuiltinInfo {
  std::string name;         // without the `builtin:` prefix
  std::string description;  // one line, for help text
};

const std::vector<BuiltinInfo>& list_builtins();

// True if `spec` names a built-in dataset (starts with `builtin:`), whether
// or not the name after it is known; generate_builtin() reports unknown ones.
bool is_builtin(const std::string& spec);

// `rows` samples as a row-major rows x 2 array. `name` may carry the
// `builtin:` prefix. Throws DataError for an unknown name or rows <= 0.
std::vector<double> generate_builtin(const std::string& name, int64_t rows, uint64_t seed);
// Columns of a built-in data set (2, or 1 for the 1-D ones such as bimodal1d;
// 3 for cond_gaussians: x0, x1 and its context).
int builtin_dim(const std::string& name);
// How many of those columns, the last ones, are a context (0 but for the
// conditional data sets).
int builtin_context_dim(const std::string& name);

// log p(x) of the generating distribution at one row (for a conditional
// data set, log p(x | c) at the row (x, c)); -inf where the
// density is zero (checkerboard), +inf at the origin for rings (its density
// has an integrable 1/|x| singularity there).
using LogDensity = std::function<double(const double* x)>;

// The exact log density, or nullopt for datasets without a closed form
// (moons). Throws DataError for an unknown name.
std::optional<LogDensity> builtin_log_density(const std::string& name);

}  // namespace nfc
