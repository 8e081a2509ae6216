// Reading `key = value` arguments with types: which keys a construct takes,
// integers in range, and how values are named in messages. Shared by the
// flow header, coupling, permute random(...) and mlp(...).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/Ast.hpp"

namespace nfc {

// Where sema sends an error (it may hold errors back, e.g. in repeats).
using Reporter = std::function<void(SourceRange, std::string)>;

// The arguments of one construct. Construction reports unknown keys (with a
// hint) and repeated keys; lookups return the first occurrence.
class ArgList {
 public:
  // `owner` names the construct in messages, quoted as needed: "'coupling'".
  ArgList(const std::vector<ast::Arg>& args, std::string owner,
          std::initializer_list<std::string_view> keys, const Reporter& report);

  const ast::Value* find(std::string_view key) const;
  // find(), reporting "missing argument 'key' for OWNER" at `at` if absent.
  const ast::Value* require(std::string_view key, SourceRange at) const;

 private:
  const std::vector<ast::Arg>& args_;
  std::string owner_;
  Reporter report_;
};

// The value as an integer if it was written as one and fits in 64 bits.
std::optional<int64_t> as_integer(const ast::Value& v);

// The integer in [lo, hi], or nullopt after reporting why not. `what` names
// the value in messages, quoted as needed ("'dim'", "repeat count").
std::optional<int64_t> integer_in_range(const ast::Value& v, std::string_view what, int64_t lo,
                                        int64_t hi, const Reporter& report);

// A value as it appears after "found": "number 2.5", "'relu'", "a list".
std::string describe(const ast::Value& v);

}  // namespace nfc
