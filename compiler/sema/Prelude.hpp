// The standard transforms every .nf file may use without defining them,
// written in the .nf language itself and parsed like user code.
#pragma once

#include <string_view>

#include "dsl/Ast.hpp"
#include "support/InternalError.hpp"

namespace nfc {

// The prelude's .nf text.
std::string_view prelude_source();

// The prelude parsed once. Its source ranges are cleared (line 0): they do
// not point into the user's file, and diagnostics print line-0 errors without
// a source line. Throws InternalError if the prelude does not parse.
const ast::File& prelude();

}  // namespace nfc
