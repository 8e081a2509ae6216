// Text to checked model: parse a .nf source (plus the prelude of standard
// transforms) and run semantic checks. Every user mistake is reported to
// `diags`; the result is empty iff at least one error was reported.
#pragma once

#include <optional>
#include <string_view>

#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

std::optional<FlowSpec> check_source(std::string_view source, Diagnostics& diags);

}  // namespace nfc
