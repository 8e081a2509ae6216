// Checking scalar expressions: every name is allowed where it is used, every
// call is to a known function with the right number of arguments, and
// comparisons appear only as the condition of where(cond, a, b).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "compiler/sema/SemaArgs.hpp"
#include "dsl/Expr.hpp"

namespace nfc {

// Returns "" if `use` may appear here, else the error message. `use` is a
// name (Expr::Kind::name) or an element of one (Expr::Kind::index, `w[1]`).
using NameCheck = std::function<std::string(const Expr& use)>;

// Reports every disallowed name (via `check`), unknown function, wrong arity,
// comparison outside a where condition and where condition that is not a
// comparison in `e`. A call to one of `transforms` (a transform calling
// itself or another) gets its own message: transforms are not functions.
void check_expr(const Expr& e, const NameCheck& check, const Reporter& report,
                const std::set<std::string>& transforms = {});

// Whether `e` mentions the variable `name` anywhere (alone or indexed).
bool uses_name(const Expr& e, std::string_view name);

// Adds every name `e` mentions (alone or indexed) to `out`.
void collect_names(const Expr& e, std::set<std::string>& out);

}  // namespace nfc
