// `meridian search NAME --queries FILE.fvecs`: runs every query, measures latency and QPS, and
// writes the results in ivecs/fvecs form for `meridian recall`.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "client/client.h"

namespace meridian::cli {

// Sends `args.batch` queries per request (1 by default, which measures per-query latency),
// in file order. Prints one line with the query count, QPS over the whole run and the
// per-request latency p50/p95/p99 in ms. Writes `args.out` (ids, ivecs) and `args.out_dist`
// (distances converted from scores by the collection's metric, fvecs) when given, k per row.
absl::Status run_search(client::Client& client, const SearchArgs& args, std::ostream& out);

}  // namespace meridian::cli
