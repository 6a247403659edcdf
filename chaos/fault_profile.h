// The faults the chaos proxy injects on one link (delay, stalls, resets, bandwidth) and the
// listen/target addresses of a link, with validation shared by the command line and the control
// protocol.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meridian::chaos {

// Fault profile of one link, applied independently in each direction. A plain value type.
struct FaultProfile {
  // One-way delay per chunk, uniform in [delay_min_ms, delay_max_ms].
  uint32_t delay_min_ms = 30;
  uint32_t delay_max_ms = 80;
  // Probability per chunk of an extra stall of stall_ms (models TCP loss and retransmission:
  // later chunks of the same direction wait behind it).
  double stall_prob = 0.0;
  uint32_t stall_ms = 0;
  // Probability per connection that it is reset, at a time uniform in [0, reset_after_max_ms]
  // after it was accepted. Applies to connections accepted after the change.
  double reset_prob = 0.0;
  uint32_t reset_after_max_ms = 1000;
  // Bandwidth limit per direction of each connection in bytes per second; 0 = unlimited.
  uint64_t bandwidth_bytes_per_s = 0;

  friend bool operator==(const FaultProfile&, const FaultProfile&) = default;
};

// Largest delay or stall accepted (ten minutes), to keep timers sane.
inline constexpr uint32_t kMaxFaultMs = 600'000;

// OK when min <= max, probabilities lie in [0, 1] and times are at most kMaxFaultMs; otherwise
// InvalidArgument naming the bad field.
absl::Status validate_fault_profile(const FaultProfile& profile);

// "delay=30:80 stall-prob=0 stall-ms=0 reset-prob=0 reset-after-ms=1000 bandwidth=0".
std::string format_fault_profile(const FaultProfile& profile);

// A host (numeric IPv4/IPv6 address or "localhost") and a port. Not resolved.
struct HostPort {
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "HOST:PORT" or "[V6]:PORT"; InvalidArgument on anything else.
absl::StatusOr<HostPort> parse_host_port(std::string_view text);
// "HOST:PORT", with brackets around an IPv6 host.
std::string format_host_port(const HostPort& host_port);

// One proxied link: connections accepted on `listen` are forwarded to `target`.
struct LinkSpec {
  std::string name;  // [A-Za-z0-9_.-]+, unique within a proxy
  HostPort listen;   // port 0: an ephemeral port is chosen at start
  HostPort target;
};

// True when `name` is a valid link name ([A-Za-z0-9_.-]{1,64}).
bool valid_link_name(std::string_view name);
// Parses "NAME=LISTEN_HOST:PORT->TARGET_HOST:PORT".
absl::StatusOr<LinkSpec> parse_link_spec(std::string_view text);

// Parses a decimal number (whole string) into the given type; InvalidArgument naming `what`.
absl::StatusOr<uint64_t> parse_unsigned(std::string_view text, std::string_view what);
absl::StatusOr<double> parse_probability(std::string_view text, std::string_view what);

}  // namespace meridian::chaos
