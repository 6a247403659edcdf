// Blocking client for the chaos proxy's control socket, for tests and tools: one request line,
// one reply line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chaos/control_protocol.h"
#include "chaos/fault_profile.h"

namespace meridian::chaos {

// One connection to a control socket. Not thread-safe: use one per thread. Every call waits at
// most `timeout` for its reply (DeadlineExceeded after that; the connection is then closed).
class ChaosControl {
 public:
  // Connects to `address` (numeric host); Unavailable when that fails.
  static absl::StatusOr<ChaosControl> connect(
      const HostPort& address, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ChaosControl(ChaosControl&& other) noexcept;
  ChaosControl& operator=(ChaosControl&& other) noexcept;
  ChaosControl(const ChaosControl&) = delete;
  ChaosControl& operator=(const ChaosControl&) = delete;
  ~ChaosControl();

  // Sends `line` and returns the reply line without its newline, "ok ..." or "error ...".
  absl::StatusOr<std::string> command(std::string_view line);

  // Typed commands: an "error ..." reply becomes FailedPrecondition with its message.
  absl::StatusOr<ProxyStatus> status();
  absl::Status cut(std::string_view link);
  absl::Status heal(std::string_view link);
  absl::Status set_delay(std::string_view link, uint32_t min_ms, uint32_t max_ms);
  absl::Status set_reset_prob(std::string_view link, double probability);
  absl::Status set_stall_prob(std::string_view link, double probability, uint32_t stall_ms);
  absl::Status set_bandwidth(std::string_view link, uint64_t bytes_per_s);

 private:
  ChaosControl(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  absl::Status expect_ok(std::string_view line);
  void close_fd();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffered_;  // bytes received after the last reply line
};

}  // namespace meridian::chaos
