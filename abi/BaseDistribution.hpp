// The base distribution q(z) as declared in a model (`base ...`): the
// compiler builds log q(z) into the graph from it (compiler/layers/
// BaseDensity), the runtime and emitted C++ sample from it (runtime/Base).
// Standard C++17 library only (emitted code embeds this file); formulas in
// docs/language.md, "Base distributions".
#pragma once

#include <cstdint>
#include <cstring>

namespace nfc {

// standard_normal: N(0, I). diag_normal: N(mean, diag(exp(log_scale))^2),
// learnable. uniform: uniform on the box [low, high]^dim (log density
// -dim log(high - low) inside, -inf outside): with [0, 1] a 1-D flow learns
// the data's CDF. mixture: `components` Gaussians with diagonal covariances
// and learnable weights. student_t: independent Student-t with `df` degrees
// of freedom per dimension.
enum class BaseKind { standard_normal, diag_normal, uniform, mixture, student_t };

struct BaseSettings {
  BaseKind kind = BaseKind::standard_normal;
  double low = 0, high = 1;  // uniform on [low, high]^dim
  int components = 1;        // mixture
  double df = 1;             // student_t

  bool operator==(const BaseSettings& o) const {
    return kind == o.kind && low == o.low && high == o.high && components == o.components &&
           df == o.df;
  }
};

// The names of the learnable base tensors in the parameter table (`base.`
// names cannot clash with `.nf` parameters, which are plain identifiers or
// `layerK.NAME`).
inline constexpr const char* kBaseMean = "base.mean";             // diag_normal [dim]
inline constexpr const char* kBaseLogScale = "base.log_scale";    // diag_normal [dim]
inline constexpr const char* kBaseLogits = "base.logits";         // mixture [K]
inline constexpr const char* kBaseMeans = "base.means";           // mixture [K, dim]
inline constexpr const char* kBaseLogScales = "base.log_scales";  // mixture [K, dim]

// Offsets of the learnable base tensors in the flat parameter buffer; -1
// for those the base does not have.
struct BaseTensors {
  std::int64_t mean = -1, log_scale = -1;                 // diag_normal
  std::int64_t logits = -1, means = -1, log_scales = -1;  // mixture

  // The offset slot for a tensor of this name, or null if it is not a
  // base tensor.
  std::int64_t* slot(const char* name) {
    return !std::strcmp(name, kBaseMean)        ? &mean
           : !std::strcmp(name, kBaseLogScale)  ? &log_scale
           : !std::strcmp(name, kBaseLogits)    ? &logits
           : !std::strcmp(name, kBaseMeans)     ? &means
           : !std::strcmp(name, kBaseLogScales) ? &log_scales
                                                : nullptr;
  }
};

}  // namespace nfc
