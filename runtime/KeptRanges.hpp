// Parameters kept in a range (ParamTensor::keep_lo, keep_hi): the compiler
// proved a layer monotone only while they stay inside. Training holds them
// there with a projected step; values from elsewhere (a parameter file,
// set_params) outside it are refused.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "abi/ParamTensor.hpp"
#include "abi/Support.hpp"

namespace nfc {

inline bool inside_kept(const ParamTensor& p, double v) {
  return v > p.keep_lo && v < p.keep_hi;
}

// "tensor 'layer0.a' holds -0.5 at index 0, but layer 0 z0 is monotone only
// while it is positive", or empty.
template <class T>
std::string kept_range_problem(const std::vector<ParamTensor>& table, const T* values) {
  for (const ParamTensor& p : table) {
    if (!p.kept()) continue;
    for (int64_t i = 0; i < p.size; ++i) {
      const double v = double(values[p.offset + i]);
      if (inside_kept(p, v)) continue;
      return fmt::format("tensor '{}' holds {:g} at index {}, but {} only while it is {}", p.name,
                         v, i, p.kept_for, range_words(p.keep_lo, p.keep_hi));
    }
  }
  return {};
}

// The kept tensors' values, one after the other.
template <class T>
std::vector<T> kept_values(const std::vector<ParamTensor>& table, const T* values) {
  std::vector<T> out;
  for (const ParamTensor& p : table)
    if (p.kept()) out.insert(out.end(), values + p.offset, values + p.offset + p.size);
  return out;
}

// After an optimiser step: an element of a kept tensor that left its range
// (or reached an end) is set halfway between its value before the step and
// the end it crossed, so a step moves it towards the end but never across.
// `before` is kept_values before the step; `held` (one count per tensor of
// the table) counts the steps that held each.
template <class T>
void hold_kept_ranges(const std::vector<ParamTensor>& table, T* values,
                      const std::vector<T>& before, std::vector<int64_t>& held) {
  held.resize(table.size());
  size_t k = 0;
  for (size_t t = 0; t < table.size(); ++t) {
    const ParamTensor& p = table[t];
    if (!p.kept()) continue;
    bool any = false;
    for (int64_t i = 0; i < p.size; ++i, ++k) {
      T& v = values[p.offset + i];
      if (inside_kept(p, double(v))) continue;
      const double end = double(v) <= p.keep_lo ? p.keep_lo : p.keep_hi;
      v = static_cast<T>(0.5 * (double(before[k]) + end));
      any = true;
    }
    held[t] += any;
  }
}

// "parameter 'layer0.a' was held positive at 12 steps (layer 0 z0 is
// monotone only while it is)", one per held tensor; empty if none was.
inline std::vector<std::string> held_range_notes(const std::vector<ParamTensor>& table,
                                                 const std::vector<int64_t>& held) {
  std::vector<std::string> notes;
  for (size_t t = 0; t < held.size() && t < table.size(); ++t)
    if (held[t] > 0)
      notes.push_back(fmt::format("parameter '{}' was held {} at {} steps ({} only while it is)",
                                  table[t].name, range_words(table[t].keep_lo, table[t].keep_hi),
                                  held[t], table[t].kept_for));
  return notes;
}

}  // namespace nfc
