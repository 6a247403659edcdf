// `meridian import NAME FILE`: batched upsert of the points in an .fvecs or JSON Lines file.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "client/client.h"

namespace meridian::cli {

// Imports in two passes. First it checks the whole file (format, equal dimensions, finite
// values, ids, payloads) and that its dimension matches the collection's: a bad file imports
// nothing, and the error names the row or line. Then it upserts `args.batch` points per
// request, drawing a progress bar on `err` when `progress` is set, and prints
// "imported N vectors in T s (R vectors/s)" on `out` (T covers both passes). A batch the
// server rejects stops the import; the error says how many points were imported before it
// (earlier batches stay committed: each batch is atomic, the import as a whole is not).
absl::Status run_import(client::Client& client, const ImportArgs& args, std::ostream& out,
                        std::ostream& err, bool progress);

}  // namespace meridian::cli
