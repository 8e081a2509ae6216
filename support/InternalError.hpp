// Compiler bugs, as opposed to user mistakes (dsl/Diagnostics.hpp) and bad
// data (runtime/DataError.hpp): a broken invariant inside nfc. The CLI maps
// it to exit code 70. Every library may include this folder.
#pragma once

#include <stdexcept>

namespace nfc {

// Thrown when the compiler breaks one of its own invariants (a bug in nfc,
// never a user mistake).
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Throws InternalError with `what` if `cond` is false.
inline void internal_check(bool cond, const char* what) {
  if (!cond) throw InternalError(what);
}

}  // namespace nfc
