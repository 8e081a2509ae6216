// The base distribution q(z) at run time: which one, its fixed settings,
// where its learnable tensors sit in the parameter buffer, and sampling.
// The compiled log_prob builds log q(z) in the graph (compiler/BaseDensity);
// this file draws from the same distributions and evaluates log q at the
// draws, for Flow::sample. Formulas: docs/language.md, "Base distributions".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abi/BaseDistribution.hpp"
#include "runtime/Random.hpp"

namespace nfc {

// Offsets of the learnable base tensors in the flat parameter buffer; -1
// for those the base does not have.
struct BaseTensors {
  int64_t mean = -1, log_scale = -1;                 // diag_normal: base.mean, base.log_scale
  int64_t logits = -1, means = -1, log_scales = -1;  // mixture: base.logits, base.means, ...

  // Found by tensor name (`base.` names cannot clash with `.nf` parameters,
  // which are plain identifiers or `layerK.NAME`).
  static BaseTensors find(const std::vector<std::string>& names,
                          const std::vector<int64_t>& offsets);
};

// n draws z ~ q, row-major [n, dim], from `rng`, with log q(z) of each row
// (evaluated in double at the stored z) in log_q. `params` is the flow's
// current parameter buffer: learnable bases sample with their current values.
// At a temperature T != 1 (Glow's "temperature"; Kingma & Dhariwal 2018)
// the base's standard noise is scaled by T: z = mean + T scale eps; log_q
// stays the untempered density at z. Throws std::invalid_argument for a
// base without a scale (tempers()).
template <class T>
void sample_base(const BaseSettings& base, const BaseTensors& tensors, const T* params, int dim,
                 int64_t n, Random& rng, T* z, double* log_q, double temperature = 1);

// Whether sampling from a base of this kind takes a temperature.
inline bool tempers(BaseKind kind) {
  return kind != BaseKind::uniform;
}

// A gamma(shape, 1) variate, shape > 0 (Marsaglia & Tsang 2000; for shape
// < 1 the boost gamma(shape + 1) U^(1/shape)).
double gamma_variate(Random& rng, double shape);

}  // namespace nfc
