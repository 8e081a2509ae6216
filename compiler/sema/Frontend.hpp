// Text to checked model: parse a .nf source (plus the prelude of standard
// transforms) and run semantic checks. Every user mistake is reported to
// `diags`; the result is empty iff at least one error was reported.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

std::optional<FlowSpec> check_source(std::string_view source, Diagnostics& diags);

// A file of targets only (`nfc train MODEL --target FILE.nf`), checked
// against a flow of dimension `dim`. Empty iff an error was reported.
std::optional<std::vector<TargetSpec>> check_target_source(std::string_view source, int dim,
                                                           Diagnostics& diags);

}  // namespace nfc
