// meridiand's settings: parsed from an optional config file (`key = value` lines, '#'
// comments) and then from command-line flags, which win.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace meridian::node {

struct DaemonConfig {
  std::string data_dir = ".meridian/data";
  std::string listen = "127.0.0.1:7600";
  // Master key files, active key first; the others still open values sealed under them
  // (key rotation). Empty: the key comes from $MERIDIAN_MASTER_KEY.
  std::vector<std::string> key_files;
  bool insecure_no_encryption = false;
  bool show_help = false;
};

// Parses argv (without argv[0]). InvalidArgument with a message for unknown flags,
// missing values, or an unreadable or malformed config file.
absl::StatusOr<DaemonConfig> parse_daemon_args(const std::vector<std::string>& args);

// Usage text for --help.
const char* daemon_usage();

}  // namespace meridian::node
