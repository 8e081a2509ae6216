// The one error type for bad user data and bad checkpoint files
// (nfc::DataError, declared with the public API's other exceptions in
// include/nfc/Error.hpp, so that the API passes it on unchanged). Its
// message is a single user-facing line that names the file and, where it
// helps, the place in it: `data.csv:17:3: not a number: 'abc'`,
// `x.npy: row 12, column 1: NaN`. Lowercase, no trailing period, so the CLI
// can print it after `nfc: error: ` unchanged.
#pragma once

#include "include/nfc/Error.hpp"
