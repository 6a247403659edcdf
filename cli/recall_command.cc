// The recall command: file loading around compute_recall / compute_tie_tolerant_recall.
#include "cli/recall_command.h"

#include <cstdio>

#include "cli/recall.h"
#include "cli/vecs_io.h"

namespace meridian::cli {

absl::Status run_recall(const RecallArgs& args, std::ostream& out) {
  absl::StatusOr<IntMatrix> results = read_ivecs(args.results_file);
  if (!results.ok()) return results.status();
  absl::StatusOr<IntMatrix> truth = read_ivecs(args.ground_truth_file);
  if (!truth.ok()) return truth.status();
  absl::StatusOr<double> recall;
  if (args.ground_truth_dist_file.empty()) {
    recall = compute_recall(*results, *truth, args.k);
  } else {
    absl::StatusOr<FloatMatrix> result_dist = read_fvecs(args.result_dist_file);
    if (!result_dist.ok()) return result_dist.status();
    absl::StatusOr<FloatMatrix> truth_dist = read_fvecs(args.ground_truth_dist_file);
    if (!truth_dist.ok()) return truth_dist.status();
    recall = compute_tie_tolerant_recall(*results, *truth, args.k, *result_dist, *truth_dist);
  }
  if (!recall.ok()) return recall.status();
  char line[64];
  std::snprintf(line, sizeof line, "recall@%u = %.4f\n", args.k, *recall);
  out << line;
  return absl::OkStatus();
}

}  // namespace meridian::cli
