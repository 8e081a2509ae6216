// Reading `param` declarations: vector sizes, initial values and
// constraints. Scoping (clashes, uses) is Sema's; this checks one
// declaration on its own.
#pragma once

#include <optional>

#include "compiler/sema/FlowSpec.hpp"
#include "compiler/sema/SemaArgs.hpp"
#include "dsl/Ast.hpp"

namespace nfc {

// Elements of a vector parameter: 1 .. kMaxParamSize.
inline constexpr int kMaxParamSize = 4096;

// The parameter `p` declares, or nullopt after reporting why not: a size
// that is not an integer in range, an initial value that is not a number or
// a list of numbers (of the declared size), an unknown constraint, an empty
// interval, an initial value outside its constraint. `p` must not be broken.
std::optional<ParamDecl> resolve_param(const ast::Param& p, const Reporter& report);

}  // namespace nfc
