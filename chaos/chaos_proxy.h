// The fault-injecting TCP proxy between Meridian regions: links from local listening ports to
// local targets, with delay, stalls, resets, bandwidth limits and partitions, driven by a
// line-based control socket. Runs on its own Asio io_context thread, never a KJ loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chaos/control_protocol.h"
#include "chaos/fault_profile.h"

namespace meridian::chaos {

struct ProxyOptions {
  std::vector<LinkSpec> links;
  // Profile every link starts with (the control socket changes it per link).
  FaultProfile default_profile;
  // Seeds every random choice (delays, stalls, resets); printed by the executable.
  uint64_t seed = 1;
  // Loopback address of the control socket (port 0: ephemeral); none when unset.
  std::optional<HostPort> control;
  // Private addresses of this machine's namespaces that links may use (see AddressPolicy).
  std::vector<std::string> allowed_private;
  // Most bytes held per direction of each connection; reading from the source pauses above it.
  uint64_t queue_cap_bytes = 4 << 20;
};

// A link as bound at start.
struct BoundLink {
  std::string name;
  HostPort listen;  // the real port when 0 was asked for
  HostPort target;
};

// Thread safety: every public method may be called from any thread except the proxy's own,
// concurrently with each other, but not concurrently with or after stop() / destruction (then
// they answer FailedPrecondition / "error proxy stopped").
class ChaosProxy {
 public:
  // Checks every address against the AddressPolicy (InvalidArgument naming the refused one),
  // binds every listening socket (Unavailable when one cannot be bound), then starts the thread.
  static absl::StatusOr<std::unique_ptr<ChaosProxy>> start(const ProxyOptions& options);
  ~ChaosProxy();  // stop()
  ChaosProxy(const ChaosProxy&) = delete;
  ChaosProxy& operator=(const ChaosProxy&) = delete;

  // Closes every socket (connections are reset) and joins the thread. Idempotent.
  void stop();

  const std::vector<BoundLink>& links() const;
  // Address of the control socket, when one was asked for.
  std::optional<HostPort> control_address() const;
  uint64_t seed() const;

  // Runs one control-protocol line (see control_protocol.h) and returns the reply line.
  std::string execute(std::string_view line);
  // Typed forms of the same commands; `link` may be a pattern (see link_matches); NotFound when
  // no link matches.
  absl::StatusOr<ProxyStatus> status();
  absl::Status cut(std::string_view link);
  absl::Status heal(std::string_view link);
  absl::Status set_profile(std::string_view link, const FaultProfile& profile);

 private:
  class Impl;
  explicit ChaosProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian::chaos
