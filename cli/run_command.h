// Runs one parsed `meridian` invocation: connects when the command needs a server, dispatches,
// and turns the outcome into an exit status.
#pragma once

#include <ostream>

#include "cli/command_line.h"

namespace meridian::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Runs `invocation`, writing results to `out` and progress and "error: <message>" lines to
// `err`. Returns kExitOk or kExitFailure. `progress` enables the import progress bar.
int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err,
                   bool progress);

}  // namespace meridian::cli
