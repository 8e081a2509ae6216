#include "tools/Interrupt.hpp"

#include <signal.h>

namespace nfc::cli {
namespace {

volatile sig_atomic_t g_signal = 0;
struct sigaction g_previous_int, g_previous_term;

// Async-signal-safe: records the signal; SA_RESETHAND has already put the
// default action back for the next one.
void record(int signal) {
  g_signal = signal;
}

}  // namespace

InterruptRequest::InterruptRequest() {
  g_signal = 0;
  struct sigaction action{};
  action.sa_handler = record;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptRequest::~InterruptRequest() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int InterruptRequest::signal() const {
  return g_signal;
}

const char* signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
}

}  // namespace nfc::cli
