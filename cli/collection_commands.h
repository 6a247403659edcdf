// `meridian collection create|list|info|drop`: collection administration over a Client.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "client/client.h"

namespace meridian::cli {

// Each prints a human-readable result on `out` and returns the server's status on failure.
absl::Status run_collection_create(client::Client& client, const CollectionCreateArgs& args,
                                   std::ostream& out);
// One row per collection: name, dim, metric, index, points, bytes.
absl::Status run_collection_list(client::Client& client, std::ostream& out);
absl::Status run_collection_info(client::Client& client, const CollectionInfoArgs& args,
                                 std::ostream& out);
absl::Status run_collection_drop(client::Client& client, const CollectionDropArgs& args,
                                 std::ostream& out);

}  // namespace meridian::cli
