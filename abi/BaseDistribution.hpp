// The base distribution q(z) as declared in a model (`base ...`): the
// compiler builds log q(z) into the graph from it (compiler/layers/
// BaseDensity), the runtime samples from it (runtime/Base). Standard
// library only; formulas in docs/language.md, "Base distributions".
#pragma once

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

  bool operator==(const BaseSettings&) const = default;
};

}  // namespace nfc
