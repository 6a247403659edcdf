// `meridian recall RESULT.ivecs GROUNDTRUTH.ivecs --k K`: reads the files and prints recall@k.
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"

namespace meridian::cli {

// Prints "recall@K = 0.xxxx" (4 decimals). Tie-tolerant when both distance files are given
// (see recall.h).
absl::Status run_recall(const RecallArgs& args, std::ostream& out);

}  // namespace meridian::cli
