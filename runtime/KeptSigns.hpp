// Parameters kept at a sign (ParamTensor::keep_sign): the compiler proved a
// layer monotone only while they keep it. Training holds them there with a
// projected step; values from elsewhere (a parameter file, set_params) that
// leave it are refused.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "abi/ParamTensor.hpp"

namespace nfc {

inline const char* sign_word(int sign) {
  return sign > 0 ? "positive" : "negative";
}

// "tensor 'layer0.a' holds -0.5 at index 0, but layer 0 z0 is monotone only
// while it is positive", or empty.
template <class T>
std::string kept_sign_problem(const std::vector<ParamTensor>& table, const T* values) {
  for (const ParamTensor& p : table) {
    if (p.keep_sign == 0) continue;
    for (int64_t i = 0; i < p.size; ++i) {
      const double v = double(values[p.offset + i]);
      if (v * p.keep_sign > 0) continue;
      return fmt::format("tensor '{}' holds {:g} at index {}, but {} only while it is {}", p.name,
                         v, i, p.kept_for, sign_word(p.keep_sign));
    }
  }
  return {};
}

// The kept tensors' values, one after the other.
template <class T>
std::vector<T> kept_values(const std::vector<ParamTensor>& table, const T* values) {
  std::vector<T> out;
  for (const ParamTensor& p : table)
    if (p.keep_sign != 0) out.insert(out.end(), values + p.offset, values + p.offset + p.size);
  return out;
}

// After an optimiser step: an element of a kept tensor that left its sign
// (or reached 0) is set to half its value before the step, so a step moves
// it towards 0 but never across. `before` is kept_values before the step;
// `held` (one count per tensor of the table) counts the steps that held each.
template <class T>
void hold_kept_signs(const std::vector<ParamTensor>& table, T* values, const std::vector<T>& before,
                     std::vector<int64_t>& held) {
  held.resize(table.size());
  size_t k = 0;
  for (size_t t = 0; t < table.size(); ++t) {
    const ParamTensor& p = table[t];
    if (p.keep_sign == 0) continue;
    bool any = false;
    for (int64_t i = 0; i < p.size; ++i, ++k) {
      T& v = values[p.offset + i];
      if (double(v) * p.keep_sign > 0) continue;
      v = before[k] / 2;
      any = true;
    }
    held[t] += any;
  }
}

// "parameter 'layer0.a' was held positive at 12 steps (layer 0 z0 is monotone
// only while it is)", one per held tensor; empty if none was.
inline std::vector<std::string> held_sign_notes(const std::vector<ParamTensor>& table,
                                                const std::vector<int64_t>& held) {
  std::vector<std::string> notes;
  for (size_t t = 0; t < held.size() && t < table.size(); ++t)
    if (held[t] > 0)
      notes.push_back(fmt::format("parameter '{}' was held {} at {} steps ({} only while it is)",
                                  table[t].name, sign_word(table[t].keep_sign), held[t],
                                  table[t].kept_for));
  return notes;
}

}  // namespace nfc
