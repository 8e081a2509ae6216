// Index lists for gathers, slices and permutations: every stage builds them.
#pragma once

#include <numeric>
#include <vector>

namespace nfc {

// start, start + 1, ..., start + n - 1.
inline std::vector<int> iota(int n, int start = 0) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

// Whether `indices` is one run start, start + 1, ... (non-empty): a gather
// or scatter over it is a shifted copy, with no index table.
inline bool is_run(const std::vector<int>& indices) {
  for (std::size_t k = 1; k < indices.size(); ++k)
    if (indices[k] != indices[0] + static_cast<int>(k)) return false;
  return !indices.empty();
}

}  // namespace nfc
