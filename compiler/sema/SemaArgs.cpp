// Typed reading of key = value arguments.
#include "compiler/sema/SemaArgs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "dsl/Suggest.hpp"

namespace nfc {

ArgList::ArgList(const std::vector<ast::Arg>& args, std::string owner,
                 std::initializer_list<std::string_view> keys, const Reporter& report)
    : args_(args), owner_(std::move(owner)), report_(report) {
  std::set<std::string_view> seen;
  for (const ast::Arg& arg : args_) {
    const std::string& key = arg.key.text;
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      report_(arg.key.loc,
              fmt::format("unknown argument '{}' for {}{}", key, owner_, did_you_mean(key, keys)));
    } else if (!seen.insert(key).second) {
      report_(arg.key.loc, fmt::format("duplicate argument '{}'", key));
    }
  }
}

const ast::Value* ArgList::find(std::string_view key) const {
  for (const ast::Arg& arg : args_) {
    if (arg.key.text == key) return &arg.value;
  }
  return nullptr;
}

const ast::Value* ArgList::require(std::string_view key, SourceRange at) const {
  const ast::Value* value = find(key);
  if (!value) report_(at, fmt::format("missing argument '{}' for {}", key, owner_));
  return value;
}

std::optional<int64_t> as_integer(const ast::Value& v) {
  if (v.kind != ast::Value::Kind::number || !v.is_integer) return std::nullopt;
  int64_t out = 0;
  const char* end = v.text.data() + v.text.size();
  const auto [ptr, ec] = std::from_chars(v.text.data(), end, out);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return out;
}

std::optional<int64_t> integer_in_range(const ast::Value& v, std::string_view what, int64_t lo,
                                        int64_t hi, const Reporter& report) {
  if (v.kind == ast::Value::Kind::error) return std::nullopt;
  if (v.kind != ast::Value::Kind::number) {
    report(v.loc, fmt::format("{} must be an integer, found {}", what, describe(v)));
    return std::nullopt;
  }
  const std::optional<int64_t> n = as_integer(v);
  // Integers too large for 64 bits are judged by the sign of their value.
  const bool too_big = n ? *n > hi : v.is_integer && v.number > 0;
  if (too_big) {
    report(v.loc, fmt::format("{} must be at most {}, found {}", what, hi, v.text));
    return std::nullopt;
  }
  if (!n || *n < lo) {
    report(v.loc, fmt::format("{} must be an integer >= {}, found {}", what, lo, v.text));
    return std::nullopt;
  }
  return n;
}

std::string describe(const ast::Value& v) {
  switch (v.kind) {
    case ast::Value::Kind::number:
      return "number " + v.text;
    case ast::Value::Kind::name:
      return "'" + v.text + "'";
    case ast::Value::Kind::list:
      return "a list";
    case ast::Value::Kind::call:
      return "'" + v.text + "(...)'";
    case ast::Value::Kind::error:
      return "an invalid value";
  }
  return "a value";
}

}  // namespace nfc
