#include "tools/Group.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <iostream>
#include <new>
#include <string_view>

#include "runtime/DataError.hpp"
#include "support/InternalError.hpp"
#include "tools/Cli.hpp"
#ifdef NFC_WITH_MPI
#include "runtime/mpi/MpiCommunicator.hpp"
#endif

namespace nfc::cli {
namespace {

Communicator* the_group = nullptr;

// A rank's report in agree(): kOk then its result, or kFailed, the exit
// code, a newline and the line.
constexpr std::string_view kOk = "ok\n", kFailed = "failed\n";

}  // namespace

Outcome outcome_of(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const AgreedFailure& f) {
    return {f.exit_code, ""};
  } catch (const Failure& f) {
    return {f.exit_code, ""};
  } catch (const UserError& e) {
    return {1, fmt::format("error: {}", e.what())};
  } catch (const DataError& e) {
    return {1, fmt::format("error: {}", e.what())};
  } catch (const InternalError& e) {
    return {70, fmt::format("internal compiler error: {}", e.what())};
  } catch (const std::bad_alloc&) {
    return {1, "error: out of memory"};
  } catch (const std::exception& e) {  // a bug in nfc: say so rather than abort
    return {70, fmt::format("internal error: {}", e.what())};
  } catch (...) {
    return {70, "internal error: an exception of unknown type"};
  }
}

std::unique_ptr<Communicator> join_launched_group(int* argc, char*** argv) {
  const int launched = launcher_size();
  if (launched <= 1) return nullptr;
#ifdef NFC_WITH_MPI
  auto group = std::make_unique<MpiCommunicator>(argc, argv);
  if (group->size() > 1) the_group = group.get();
  return group;
#else
  (void)argc, (void)argv;
  if (launcher_rank() != 0) throw Failure{1};  // rank 0 says why
  throw UserError(
      fmt::format("this nfc was built without MPI and cannot run as one of {} processes; install "
                  "libopenmpi-dev and rebuild (cmake -DNFC_MPI=ON), or run it as one process",
                  launched));
#endif
}

Communicator* process_group() {
  return the_group;
}

bool speaks() {
  return the_group == nullptr || the_group->rank() == 0;
}

std::vector<std::string> agree_and_gather(const std::function<std::string()>& work) {
  if (the_group == nullptr) return {work()};
  std::string report;
  try {
    report = std::string(kOk) + work();
  } catch (...) {
    const Outcome o = outcome_of(std::current_exception());
    report = fmt::format("{}{}\n{}", kFailed, o.exit_code, o.line);
  }
  std::vector<std::string> reports = the_group->gather(report);
  for (size_t r = 0; r < reports.size(); ++r) {
    if (reports[r].starts_with(kOk)) {
      reports[r].erase(0, kOk.size());
      continue;
    }
    const size_t code_end = reports[r].find('\n', kFailed.size());
    const int code = std::stoi(reports[r].substr(kFailed.size(), code_end - kFailed.size()));
    const std::string line = reports[r].substr(code_end + 1);
    if (speaks()) {
      if (r == 0 && !line.empty())
        fmt::print(std::cerr, "nfc: {}\n", line);
      else if (r > 0 && line.empty())
        fmt::print(std::cerr, "nfc: error: rank {} failed (exit code {})\n", r, code);
      else if (r > 0) {
        const size_t colon = line.find(": ");
        fmt::print(std::cerr, "nfc: {}: rank {}: {}\n", line.substr(0, colon), r,
                   line.substr(colon + 2));
      }
    }
    throw AgreedFailure{code};
  }
  return reports;
}

void agree(const std::function<void()>& work) {
  agree_and_gather([&] {
    work();
    return std::string();
  });
}

}  // namespace nfc::cli
