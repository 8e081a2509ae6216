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

}  // namespace nfc
