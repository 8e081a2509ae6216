// `nfc check`: front end plus the structural passes, no code generation.
#include "driver/Check.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "driver/Compile.hpp"

namespace nfc {

int check_file(const std::string& path, const std::string& display_name, std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "nfc: error: cannot open '" << path << "': " << std::strerror(errno) << "\n";
    return 1;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string source = buffer.str();
  Diagnostics diags(display_name, source);
  const bool valid = analyze_model(source, diags) != nullptr;
  diags.print(err);
  return valid ? 0 : 1;
}

}  // namespace nfc
