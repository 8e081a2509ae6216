// One learnable tensor of a flow's flat parameter buffer: what the compiler
// lays out (Graph::add_param) and what the runtime initialises, saves,
// loads and keeps structurally zero. Standard library only: the compiler
// and the runtime (and host programs) share this one definition.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace nfc {

struct ParamTensor {
  std::string name;
  std::vector<int> shape;
  int64_t offset = 0;        // first element in the flat buffer
  int64_t size = 0;          // product of shape
  double init_bound = 0;     // initialised uniform in [-init_bound, init_bound] ...
  std::vector<double> init;  // ... unless these exact values are given
  // A matrix {rows, cols} whose element (r, c) with c >= row_lengths[r] is a
  // structural zero (a MADE mask): compiled code may read it as 0, so the
  // runtime keeps it 0. Empty: every element is free.
  std::vector<int> row_lengths;
  // Every element is kept strictly inside (keep_lo, keep_hi): the compiler
  // proved a layer monotone only for parameter values there (z0 = a * x0
  // with an unconstrained a: (0, inf)); training holds the tensor there and
  // parameter files that leave it are refused. `kept_for` names what needs
  // it: "layer 0 z0 is monotone". All of ℝ: free.
  double keep_lo = -std::numeric_limits<double>::infinity();
  double keep_hi = std::numeric_limits<double>::infinity();
  std::string kept_for;
  // The tensor holds a constraint's argument (`positive`: the parameter is
  // softplus of it), not the parameter: never kept (its constraint says
  // where it may go).
  bool constrained = false;
  // A target's data table (`data X = "x.npy"`): fixed values the compiled
  // code reads, not a parameter. No gradient is computed for it, training
  // never changes it and parameter files do not carry it. Data tensors come
  // after every learnable one in the buffer.
  bool data = false;

  bool kept() const {
    return keep_lo > -std::numeric_limits<double>::infinity() ||
           keep_hi < std::numeric_limits<double>::infinity();
  }
};

}  // namespace nfc
