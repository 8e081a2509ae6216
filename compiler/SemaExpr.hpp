// Checking scalar expressions: every name is allowed where it is used, every
// call is to a known function with the right number of arguments.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "compiler/SemaArgs.hpp"
#include "dsl/Expr.hpp"

namespace nfc {

// Returns "" if `name` may be used here, else the error message.
using NameCheck = std::function<std::string(const std::string& name)>;

// Reports every disallowed name (via `check`), unknown function and wrong
// arity in `e`.
void check_expr(const Expr& e, const NameCheck& check, const Reporter& report);

// Whether `e` mentions the variable `name` anywhere.
bool uses_name(const Expr& e, std::string_view name);

}  // namespace nfc
