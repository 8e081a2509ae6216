// The named coupling masks (conventions documented in Masks.hpp and
// docs/language.md; changing them changes every trained model).
#include "compiler/sema/Masks.hpp"

#include <cstddef>

namespace nfc {

std::vector<int> alternate_mask(int dim, int k) {
  std::vector<int> mask(static_cast<std::size_t>(dim));
  for (int i = 0; i < dim; ++i) mask[static_cast<std::size_t>(i)] = (i + k) % 2 == 1 ? 1 : 0;
  return mask;
}

std::vector<int> halves_mask(int dim, int k) {
  std::vector<int> mask(static_cast<std::size_t>(dim), 0);
  const int half = dim / 2;
  const int first = k % 2 == 0 ? dim - half : 0;
  for (int i = first; i < first + half; ++i) mask[static_cast<std::size_t>(i)] = 1;
  return mask;
}

}  // namespace nfc
