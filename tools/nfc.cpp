// The nfc command line. Each subcommand lives in its own file and registers
// itself; this file maps outcomes to exit codes:
// 0 success, 1 the input has errors (message printed), 2 bad command line,
// 70 an internal compiler error (a bug in nfc).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <iostream>

#include "runtime/DataError.hpp"
#include "support/InternalError.hpp"
#include "tools/Cli.hpp"

int main(int argc, char** argv) {
  using namespace nfc::cli;
  CLI::App app{"nfc: a normalizing-flow compiler"};
  app.require_subcommand(1);
  register_check(app);
  register_compile(app);
  register_train(app);
  register_sample(app);
  register_eval(app);
  register_logprob(app);
  register_plot(app);
  register_emit_cpp(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const Failure& f) {
    return f.exit_code;
  } catch (const UserError& e) {
    fmt::print(std::cerr, "nfc: error: {}\n", e.what());
    return 1;
  } catch (const nfc::DataError& e) {
    fmt::print(std::cerr, "nfc: error: {}\n", e.what());
    return 1;
  } catch (const nfc::InternalError& e) {
    fmt::print(std::cerr, "nfc: internal compiler error: {}\n", e.what());
    return 70;
  } catch (const std::bad_alloc&) {
    fmt::print(std::cerr, "nfc: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {  // a bug in nfc: say so rather than abort
    fmt::print(std::cerr, "nfc: internal error: {}\n", e.what());
    return 70;
  }
  return 0;
}
