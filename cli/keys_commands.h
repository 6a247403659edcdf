// `meridian keys status|rotate|retire`: key rotation for encryption at rest, through the
// node's Admin capability.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "client/client.h"

namespace meridian::cli {

absl::Status run_keys_status(client::Client& client, std::ostream& out);
absl::Status run_keys_rotate(client::Client& client, const KeysRotateArgs& args, std::ostream& out);
absl::Status run_keys_retire(client::Client& client, const KeysRetireArgs& args, std::ostream& out);

// The status as the commands print it.
void print_key_status(const client::KeyStatus& status, std::ostream& out);

}  // namespace meridian::cli
