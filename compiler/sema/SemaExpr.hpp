// Checking scalar expressions: every name is allowed where it is used, every
// call is to a known function with the right number of arguments, and
// comparisons appear only as the condition of where(cond, a, b).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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

// "x0..x3" (or "x0" for dim 1): how messages name the valid indexed names.
std::string index_range(char prefix, int dim);

// `x12` -> 12 for prefix 'x'. Not an indexed name (nullopt): other letters,
// no digits, leading zeros ("x01"). Indices too large for int64 saturate.
std::optional<int64_t> indexed_name(std::string_view name, char prefix);

// Whether `name` is one of the functions expressions may call.
bool is_function(std::string_view name);

// Whether `e` mentions the variable `name` anywhere (alone or indexed).
bool uses_name(const Expr& e, std::string_view name);

// Adds every name `e` mentions (alone or indexed) to `out`.
void collect_names(const Expr& e, std::set<std::string>& out);

}  // namespace nfc
