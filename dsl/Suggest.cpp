// Edit distance and the hints built from it.
#include "dsl/Suggest.hpp"

#include <algorithm>
#include <numeric>

namespace nfc {

int edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, from
  // three rows of the dynamic-programming table.
  std::vector<int> before(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  std::iota(prev.begin(), prev.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return prev[b.size()];
}

namespace {

// A candidate is close if it is at most 2 edits away and at most half the
// name's length (so 'foo' does not suggest 'log'), or if the name is a prefix
// of it of 3 or more characters ('coupl' -> 'coupling').
template <class Range>
std::string best_hint(std::string_view name, const Range& candidates) {
  constexpr int kMaxDistance = 2;
  constexpr size_t kMinPrefix = 3;
  std::string_view best;
  int best_distance = 0;
  for (std::string_view candidate : candidates) {
    // The distance is at least the difference in length: skip far-off
    // candidates without computing it (a megabyte name costs nothing).
    const size_t gap = name.size() > candidate.size() ? name.size() - candidate.size()
                                                      : candidate.size() - name.size();
    if (gap > kMaxDistance && !candidate.starts_with(name)) continue;
    const int d = edit_distance(name, candidate);
    const bool close = d <= kMaxDistance && d <= static_cast<int>(name.size() / 2);
    const bool prefix = name.size() >= kMinPrefix && candidate.starts_with(name);
    if (d == 0 || !(close || prefix)) continue;
    if (best.empty() || d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best.empty()) return "";
  return "; did you mean '" + std::string(best) + "'?";
}

}  // namespace

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  return best_hint(name, candidates);
}

std::string did_you_mean(std::string_view name,
                         std::initializer_list<std::string_view> candidates) {
  return best_hint(name, candidates);
}

}  // namespace nfc
