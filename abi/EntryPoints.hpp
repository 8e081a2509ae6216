// The entry points of a compiled flow: their names and C signatures, the
// contract between the code generators (LLVM JIT, emitted C++) and the
// runtime (Flow). Standard library only. Every entry point runs over a
// row-major batch of n rows, holds no state, and may be called concurrently
// (each call with its own outputs, `grad` and `work`):
//
//   map:           void NAME(const T* params, const T* in, T* out_0, ..., T* out_k, int64_t n)
//   mean_gradient: T NAME(const T* params, const T* in, int64_t n, T* grad, void* work)
//
// `params` is the flat buffer laid out by the ParamTensor table; `in` is
// [n, input length], out_i is [n, length of output i]. A mean_gradient
// returns the batch mean of its loss and overwrites grad (one entry per
// parameter) with the mean gradient; `work` is scratch of the size the
// backend reports (no alignment needed).
#pragma once

#include <cstdint>

namespace nfc::abi {

// Names under which the code generators export the entry points.
inline constexpr const char* kForward = "forward";               // x -> z, log|det f'(x)|
inline constexpr const char* kInverse = "inverse";               // z -> x, log|det g'(z)|
inline constexpr const char* kLogProb = "log_prob";              // x -> log p(x)
inline constexpr const char* kNllGrad = "nll_grad";              // mean -log p(x) and its gradient
inline constexpr const char* kActNormInputs = "actnorm_inputs";  // x -> each ActNorm's input
// With a target (variational training): x -> log p~(x), and the mean over
// base noise rows of log q(x) - log p~(x) at x = g(z(eps)) with its gradient.
inline constexpr const char* kTargetLogProb = "target_log_prob";
inline constexpr const char* kKlGrad = "kl_grad";
// log_prob compiled for one sample at a time (JIT only; small batches).
inline constexpr const char* kLogProbSmall = "log_prob.small";

// Map entry points with one output (log_prob, actnorm_inputs).
template <class T>
using Density = void (*)(const T* params, const T* in, T* out, int64_t n);
// Map entry points with a value and its log-determinant (forward, inverse).
template <class T>
using Map = void (*)(const T* params, const T* in, T* out, T* logdet, int64_t n);
// Mean-gradient entry points (nll_grad).
template <class T>
using MeanGradient = T (*)(const T* params, const T* in, int64_t n, T* grad, void* work);

}  // namespace nfc::abi
