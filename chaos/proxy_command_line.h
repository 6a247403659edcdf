// Command line of meridian-chaos-proxy, parsed into ProxyOptions (kept apart from main() so
// tests can check it).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "chaos/chaos_proxy.h"

namespace meridian::chaos {

struct ProxyCommandLine {
  ProxyOptions options;
  bool seed_given = false;  // otherwise main() draws one and prints it
  bool help = false;
};

// Usage text printed by --help and after a command-line error.
extern const char kProxyUsage[];

// Parses the arguments after the program name: --link NAME=LISTEN_HOST:PORT->TARGET_HOST:PORT
// (repeatable), --delay-ms MIN:MAX, --seed N, --control HOST:PORT, --allow-private ADDR
// (repeatable), --queue-cap-bytes N, --help; "--flag=value" works too. InvalidArgument naming
// the bad argument. Addresses are checked later, by ChaosProxy::start.
absl::StatusOr<ProxyCommandLine> parse_proxy_command_line(const std::vector<std::string>& args);

}  // namespace meridian::chaos
