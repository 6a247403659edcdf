// The chaos proxy's line-based control protocol: command parsing, and the status reply that
// both the proxy (formatting) and ChaosControl (parsing) use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chaos/fault_profile.h"

namespace meridian::chaos {

// One request line (without the newline). LINK is a link name, or a pattern ending in "*" that
// matches every link whose name starts with what precedes it ("*" alone: every link).
//   status
//   cut LINK | heal LINK
//   set LINK delay MIN_MS MAX_MS
//   set LINK reset-prob P [AFTER_MAX_MS]
//   set LINK stall-prob P STALL_MS
//   set LINK bandwidth BYTES_PER_S        (0 = unlimited)
// Replies are one line: "ok ..." or "error MESSAGE".
struct ControlCommand {
  enum class Kind { kStatus, kCut, kHeal, kSetDelay, kSetResetProb, kSetStallProb, kSetBandwidth };
  Kind kind = Kind::kStatus;
  std::string link;  // empty for kStatus; a name or a pattern (see link_matches)
  uint64_t a = 0;    // delay min / stall ms / reset-after ms / bandwidth
  uint64_t b = 0;    // delay max
  double probability = 0.0;
  bool has_a = false;  // whether the optional AFTER_MAX_MS was given
};

// True when valid_link_name(pattern), or pattern is "PREFIX*" with PREFIX empty or valid.
bool valid_link_pattern(std::string_view pattern);
// True when `name` equals `pattern`, or `pattern` is "PREFIX*" and `name` starts with PREFIX.
bool link_matches(std::string_view pattern, std::string_view name);

// Longest accepted request line; longer ones are answered with an error and the session closed.
inline constexpr size_t kMaxControlLine = 1024;

absl::StatusOr<ControlCommand> parse_control_command(std::string_view line);

// Applies a kSet* command to `profile`; InvalidArgument when the result is not a valid profile.
absl::Status apply_to_profile(const ControlCommand& command, FaultProfile& profile);

// Counters and settings of one link as reported by `status`.
struct LinkStatus {
  std::string name;
  std::string listen;  // bound address, "HOST:PORT"
  std::string target;
  bool cut = false;
  FaultProfile profile;
  uint64_t active_connections = 0;
  uint64_t accepted_connections = 0;
  uint64_t injected_resets = 0;    // connections reset by reset-prob
  uint64_t closed_by_cut = 0;      // connections closed by `cut`, or refused while cut
  uint64_t bytes_forwarded = 0;    // both directions
  uint64_t queued_bytes = 0;       // held in the proxy now, all connections
  uint64_t peak_queued_bytes = 0;  // largest queue of any one direction of any connection
};

struct ProxyStatus {
  uint64_t seed = 0;
  uint64_t queue_cap_bytes = 0;  // per direction of each connection
  std::vector<LinkStatus> links;
};

// "ok seed=S queue-cap=C links=N | link=NAME listen=... target=... state=up|cut delay=MIN:MAX
//  stall-prob=.. stall-ms=.. reset-prob=.. reset-after-ms=.. bandwidth=.. conns=.. accepted=..
//  resets=.. cut-closed=.. bytes=.. queued=.. peak-queued=.. | link=..." on one line.
std::string format_status_reply(const ProxyStatus& status);
// Inverse of format_status_reply; InvalidArgument on a malformed line, Unavailable with the
// message for an "error ..." reply.
absl::StatusOr<ProxyStatus> parse_status_reply(std::string_view line);

}  // namespace meridian::chaos
