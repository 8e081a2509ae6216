// `nfc check`: everything the compiler verifies about a model short of code
// generation (syntax, names, dimensions, masks, triangularity, invertibility).
#pragma once

#include <ostream>
#include <string>

namespace nfc {

// Reads `path`, checks it, prints diagnostics to `err` using `display_name`
// as the file name. Returns 0 when the model is valid, 1 otherwise.
int check_file(const std::string& path, const std::string& display_name, std::ostream& err);

}  // namespace nfc
