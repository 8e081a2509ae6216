// SIGINT (Ctrl-C) and SIGTERM during a long command: the first asks it to
// stop at the end of the current step, so training saves a checkpoint and
// says how to resume instead of dying silently; a second one kills as the
// default action does (for a user who means it).
#pragma once

namespace nfc::cli {

class InterruptRequest {
 public:
  InterruptRequest();   // installs the handlers
  ~InterruptRequest();  // restores the previous ones
  InterruptRequest(const InterruptRequest&) = delete;
  InterruptRequest& operator=(const InterruptRequest&) = delete;

  // 0, or the signal that arrived (SIGINT, SIGTERM).
  int signal() const;
};

// "SIGINT", "SIGTERM"
const char* signal_name(int signal);

}  // namespace nfc::cli
