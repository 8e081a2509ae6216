// A trained flow as standalone C++17: a header declaring the model's API
// and a source file holding the weights (or a loader for them) and the
// entry points, which emit_cpp_function() writes from the same lowered
// Program the JIT compiles, once for one sample and once for blocks of
// samples. Needs only the standard library. The API of the emitted code is
// documented in docs/api.md ("Emitted C++").
#pragma once

#include <string>
#include <vector>

#include "compiler/layers/FlowGraph.hpp"
#include "include/nfc/Precision.hpp"
#include "support/InternalError.hpp"

namespace nfc {

struct CppModuleOptions {
  std::string ns;  // namespace of everything emitted; the flow's name if empty
  Precision precision = Precision::f64;
  bool load_weights = false;  // read parameters from a .safetensors at run time
  bool with_grad = false;     // also nll_grad() and mutable parameters() (--with-grad)
  std::string source_hash;    // of the .nf text (runtime/Hash.hpp), for the banner
  std::string params_file;    // where the parameters came from, for the banner
  // Per-dimension standardisation the flow was trained with (empty if
  // none): the emitted API then works in data coordinates, as nfc does.
  std::vector<double> mean, scale;
  // A conditional flow's context standardisation (empty if none).
  std::vector<double> context_mean, context_scale;
};

struct CppFiles {
  std::string header_name, header;  // NS.hpp
  std::string source_name, source;  // NS.cpp
};

// `params` are the flat parameter values in the graph's table order; they
// are embedded unless options.load_weights. Throws InternalError for
// compiler bugs only: checking user input (is_cpp_namespace_name) is the
// caller's job.
CppFiles emit_cpp_module(const FlowGraph& flow, const std::vector<double>& params,
                         const CppModuleOptions& options);

// Whether `name` can name the emitted namespace: an identifier that is not
// a C++ keyword and not reserved (no leading underscore, no "__").
bool is_cpp_namespace_name(const std::string& name);

}  // namespace nfc
