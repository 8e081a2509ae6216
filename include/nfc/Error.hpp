// The exceptions of nfc: what the C++ API (nfc.hpp) throws, and the
// runtime's one error type for bad data, which the API passes on as it is.
// Standard library only.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace nfc {

// Every failure of the API: bad files, bad arguments, training errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model that does not compile. what() is the compiler's diagnostics, as
// `nfc check` prints them: "model.nf:3:3: error: ...", the line, a caret;
// file, line, col and message are the first error's (line and col from 1;
// 0 for an error of no place in the source, such as an unreadable file).
class CompileError : public Error {
 public:
  CompileError(const std::string& diagnostics, std::string file, int line, int col,
               std::string message)
      : Error(diagnostics),
        file(std::move(file)),
        line(line),
        col(col),
        message(std::move(message)) {}
  std::string file;
  int line = 0, col = 0;
  std::string message;
};

// Bad user data, in one line that says what and where (lowercase, no
// trailing period): `data.csv:17:3: not a number: 'abc'`, `x.npy: row 12,
// column 1: NaN`, rows that are not whole rows of the model's dimension, a
// context of the wrong size, parameters of the wrong count, shape or range,
// a corrupt checkpoint.
class DataError : public Error {
 public:
  using Error::Error;
};

}  // namespace nfc
