// A file's fingerprint: its size and a hash of sampled pieces of it, so
// that ranks of a group can check they read the same data without each
// reading the whole of it.
#pragma once

#include <string>

namespace nfc {

// "<size> bytes, sampled hash <16 hex digits>": the FNV-1a hash of the
// first and last 4 KiB and of 64 pieces of 4 KiB spread evenly between
// them (the whole file when it is smaller than that). Files that differ in
// size, header or any sampled piece differ here; a change elsewhere goes
// unnoticed. Throws DataError if the file cannot be read.
std::string file_fingerprint(const std::string& path);

}  // namespace nfc
