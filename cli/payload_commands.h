// `meridian payload set|overwrite|delete-keys`: payload updates of one point through the CRDT.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "client/client.h"

namespace meridian::cli {

// Prints "updated N point(s)"; NotFound when the point does not exist.
absl::Status run_payload_set(client::Client& client, const PayloadSetArgs& args, std::ostream& out);
absl::Status run_payload_delete_keys(client::Client& client, const PayloadDeleteKeysArgs& args,
                                     std::ostream& out);

}  // namespace meridian::cli
