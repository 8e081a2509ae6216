// Helpers shared by the tests that compile models from source text.
#pragma once

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "compiler/driver/Compile.hpp"

namespace nfc::test {

// Compiles `source` (all entry points) or fails the test with the
// diagnostics.
inline std::unique_ptr<CompiledModel> compile_or_fail(const std::string& source,
                                                      Precision precision = Precision::f64) {
  Diagnostics diags("test.nf", source);
  JitOptions options;
  options.precision = precision;
  auto model = compile_model(source, diags, options);
  std::ostringstream errors;
  diags.print(errors);
  INFO(errors.str());
  REQUIRE(model != nullptr);
  return model;
}

template <class T>
constexpr Precision precision_of() {
  return std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
}

}  // namespace nfc::test
