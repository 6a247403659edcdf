// Starts a real `meridiand` process for integration tests, waits (with a deadline, never a
// fixed sleep) for its "listening on HOST:PORT" log line, and stops or kills it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace meridian::testing {

// Path of a binary built by this tree, e.g. built_binary("node/meridiand").
std::filesystem::path built_binary(const std::string& relative);

class DaemonProcess {
 public:
  // Starts meridiand with `args` (e.g. --data-dir ... --listen 127.0.0.1:0 ...); stderr goes to
  // `log_path`. Call wait_listening() before use.
  DaemonProcess(std::vector<std::string> args, std::filesystem::path log_path);
  ~DaemonProcess();  // SIGKILLs the process if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Waits until the log shows the listening address; returns "127.0.0.1:PORT", or nullopt when
  // the process exits or the deadline passes first.
  std::optional<std::string> wait_listening(std::chrono::milliseconds deadline);
  // Sends `signal` and waits for the exit; returns the exit status (as from waitpid) or
  // nullopt when it does not exit before the deadline.
  std::optional<int> stop(int signal, std::chrono::milliseconds deadline);
  // Waits for an exit that happens on its own (e.g. refusing to start).
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::filesystem::path log_path_;
};

}  // namespace meridian::testing
