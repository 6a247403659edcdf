// `meridian get|delete|count|scroll|status`: point reads and deletes and node status.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "client/client.h"

namespace meridian::cli {

// Prints one JSON line per existing point (see point_json.h); NotFound when none of the ids
// exists.
absl::Status run_get(client::Client& client, const GetArgs& args, std::ostream& out);
// Prints "deleted N points" (N counts only ids that existed).
absl::Status run_delete(client::Client& client, const DeleteArgs& args, std::ostream& out);
// Prints the number of live points.
absl::Status run_count(client::Client& client, const CountArgs& args, std::ostream& out);
// Prints one page of points as JSON lines on `out`, then "next cursor: HEX" (or "end of
// collection") on `err`, so `out` stays pure JSON Lines.
absl::Status run_scroll(client::Client& client, const ScrollArgs& args, std::ostream& out,
                        std::ostream& err);
absl::Status run_status(client::Client& client, std::ostream& out);

}  // namespace meridian::cli
