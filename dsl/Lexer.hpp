// Source text to tokens. Bad characters and malformed numbers are reported
// to the diagnostics and become `error` tokens, so the parser can recover
// without reporting them a second time.
#pragma once

#include <string_view>
#include <vector>

#include "dsl/Diagnostics.hpp"
#include "dsl/Token.hpp"

namespace nfc {

// The whole source as tokens, always ending with one `eof` token placed just
// after the last real token (so "unexpected end of file" points at text).
std::vector<Token> lex(std::string_view source, Diagnostics& diags);

}  // namespace nfc
