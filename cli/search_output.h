// Turns search results into the ivecs/fvecs rows that `meridian search` writes and
// `meridian recall` reads: numeric ids and distances (lower is closer) per query.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "cli/vecs_io.h"
#include "client/types.h"
#include "schema/types.h"

namespace meridian::cli {

// The padding of a row for a query that got fewer than k hits.
inline constexpr int32_t kMissingId = -1;

// A score as a distance: l2 -> the score (Euclidean distance); cosine -> 1 - score;
// dot -> -score.
float score_to_distance(Metric metric, float score);

// Appends one row of k ids and k distances per query result to `ids` and `distances` (whose
// dim must be k), padding short rows with kMissingId and +infinity. InvalidArgument when a hit
// has a UUID id or a number above INT32_MAX, which ivecs cannot hold.
absl::Status append_result_rows(const client::SearchResults& results, Metric metric, uint32_t k,
                                IntMatrix& ids, FloatMatrix& distances);

}  // namespace meridian::cli
