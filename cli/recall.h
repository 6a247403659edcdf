// Recall@k of search results against exact ground truth, optionally tolerant of distance ties.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "cli/vecs_io.h"

namespace meridian::cli {

// Relative and absolute slack on the k-th true distance when counting ties (the _dist files
// are float32).
inline constexpr double kTieRelativeSlack = 1e-6;
inline constexpr double kTieAbsoluteSlack = 1e-6;

// Plain recall@k: the fraction of the first k ground-truth ids of each query found among the
// first k result ids of that query (each id counted once; -1 is never a match), averaged over
// the result queries. Results may cover only the first queries of the ground truth (a run on
// a prefix of the query file), never more; ground-truth rows need at least k ids; result rows
// may hold fewer than k ids (the missing ones count as misses).
absl::StatusOr<double> compute_recall(const IntMatrix& results, const IntMatrix& ground_truth,
                                      uint32_t k);

// Tie-tolerant recall@k: like compute_recall, except a returned id also counts when its
// distance (from `result_distances`, same shape as `results`) is <= d_k * (1 + 1e-6) + 1e-6,
// where d_k is the k-th distance of `ground_truth_distances` (same dim as `ground_truth`, at
// least as many rows as `results`).
// So an index that returns a different id at an equal distance is not penalised.
absl::StatusOr<double> compute_tie_tolerant_recall(const IntMatrix& results,
                                                   const IntMatrix& ground_truth, uint32_t k,
                                                   const FloatMatrix& result_distances,
                                                   const FloatMatrix& ground_truth_distances);

}  // namespace meridian::cli
