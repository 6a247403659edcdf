// `meridian keygen --out FILE`: creates a master key file for encryption at rest. The only
// command that uses crypto/ directly (the key never crosses the network).
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"

namespace meridian::cli {

// Writes a fresh key to args.out (mode 0600; AlreadyExists if the file exists) and prints its
// key id.
absl::Status run_keygen(const KeygenArgs& args, std::ostream& out);

}  // namespace meridian::cli
