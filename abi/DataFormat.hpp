// What a flow's data rows are beyond their length, as the model declares it
// and the runtime needs it: integer levels that a first `dequantize` layer
// spreads over [0, levels) (training and evaluation add uniform noise, samples
// are rounded down), and an image shape for sample grids.
#pragma once

#include <vector>

namespace nfc {

struct DataFormat {
  // `dequantize(levels = L)`: every x value is an integer in 0..L-1; 0 when
  // the data are continuous.
  int levels = 0;
  // `flow f(dim = H*W*C, image = [H, W, C])`: a row is an image, row-major
  // with the channel last (NumPy's [H, W, C]); empty when not declared.
  std::vector<int> image;

  bool operator==(const DataFormat&) const = default;
  bool dequantized() const { return levels > 0; }
};

}  // namespace nfc
