// `meridian gen-dataset`: a synthetic clustered dataset with exact ground truth, written in the
// TEXMEX layout of the shared datasets, so demos and tests run on a machine without them.
#pragma once

#include <cstdint>
#include <ostream>

#include "absl/status/status.h"
#include "cli/command_line.h"
#include "cli/vecs_io.h"
#include "schema/types.h"

namespace meridian::cli {

// How many ground-truth neighbours per query a dataset carries (fewer when n is smaller).
inline constexpr uint32_t kGroundTruthDepth = 100;

// The number of clusters gen-dataset uses for a base of `base_size` vectors (1..64).
uint32_t default_cluster_count(uint32_t base_size);

// `n` vectors of `dim` floats drawn from a mixture of `clusters` (>= 1) Gaussian clusters. The
// cluster centres depend only on `seed` (and `clusters`, `dim`); `stream` picks independent
// draws from them, so base (stream 0) and queries (stream 1) share clusters. Deterministic
// across platforms for one set of arguments.
FloatMatrix generate_clustered_vectors(uint32_t n, uint32_t dim, uint32_t clusters, uint64_t seed,
                                       uint64_t stream);

// The exact top-k (k <= base rows) of every query by brute force in double precision:
// `ids` gets base row numbers nearest first (ties by lower id), `distances` the matching
// distances as float (l2: Euclidean distance; cosine: 1 - cosine similarity, a zero vector
// having similarity 0; dot: minus the inner product). Both become queries.rows() x k.
void exact_neighbors(const FloatMatrix& base, const FloatMatrix& queries, Metric metric, uint32_t k,
                     IntMatrix& ids, FloatMatrix& distances);

// Writes DIR/NAME_base.fvecs, NAME_query.fvecs, NAME_groundtruth.ivecs and
// NAME_groundtruth_dist.fvecs (creating DIR), and prints one line describing them on `out`.
absl::Status run_gen_dataset(const GenDatasetArgs& args, std::ostream& out);

}  // namespace meridian::cli
