// "did you mean ...?" hints for misspelled names.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace nfc {

// Edit distance: insertions, deletions, substitutions and swaps of adjacent
// characters count one each (optimal string alignment).
int edit_distance(std::string_view a, std::string_view b);

// "; did you mean 'best'?" for the first candidate at the smallest edit
// distance among the close ones, "" if none is close. Close: at most 2 edits
// away and at most half the length of `name` (so 'foo' does not suggest
// 'log'), or `name` is a prefix of it of at least 3 characters ('coupl' ->
// 'coupling').
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);
std::string did_you_mean(std::string_view name, std::initializer_list<std::string_view> candidates);

}  // namespace nfc
