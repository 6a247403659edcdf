// `meridian replication-lag`: measures how long a write acknowledged by one node takes to become
// visible on others (e.g. the nodes of other regions), optionally under a steady background
// write load, and prints p50/p99/max per target.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"

namespace meridian::cli {

absl::Status run_replication_lag(const std::string& server, const ReplicationLagArgs& args,
                                 std::ostream& out);

}  // namespace meridian::cli
