// Lloyd's k-means over float32 vectors for IVF coarse quantisers: sampled training set, BLIS
// sgemm assignment step, deterministic re-seeding of empty clusters. Spherical k-means (unit
// centroids, inner-product assignment) under kCosine and kInnerProduct.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/metric.h"

namespace meridian::index {

struct KMeansParams {
  // Number of centroids. Range [1, 65536].
  uint32_t nlist = 1;
  // Lloyd iterations (assignment + update); training stops earlier once no assignment changes.
  // Range [1, 1000].
  uint32_t iterations = 20;
  // Most training points used; a larger input is sub-sampled (deterministically from `seed`).
  // 0 means 256 * nlist. Values below nlist act as nlist.
  size_t sample = 0;
  // Seed of the sampling and of the k-means++ seeding, nothing else: equal inputs and params give
  // bit-identical centroids (BLIS runs single-threaded here).
  uint64_t seed = 42;

  // InvalidArgument naming the first parameter out of range.
  absl::Status validate() const;
};

// Trains params.nlist centroids on the n = vectors.size() / dim row-major `vectors` and returns
// them row-major (nlist * dim floats).
//  - kL2: Euclidean k-means.
//  - kCosine, kInnerProduct: spherical k-means: training points are normalised to unit length
//    (zero vectors are left as is), points are assigned by largest inner product and every
//    centroid is normalised after each update, so the returned centroids have unit length.
// Initial centroids: k-means++ seeding on the sample (O(sample * nlist * dim), about one Lloyd
// iteration), drawn from the seed. An empty cluster is
// re-seeded with the training point farthest from its own centroid (not yet used for another
// re-seed); when no point lies away from its centroid (fewer distinct points than clusters), the
// largest cluster is split in two by a small symmetric perturbation. With fewer distinct points
// than nlist some returned centroids stay duplicates, and their IVF lists stay empty.
// InvalidArgument: dim == 0, vectors.size() not a multiple of dim, fewer than nlist points, bad
// params, or a non-finite component. Thread-safe (no shared state).
absl::StatusOr<std::vector<float>> train_kmeans(std::span<const float> vectors, uint32_t dim,
                                                const KMeansParams& params, Metric metric);

// The coarse quantiser of an IVF index: `nlist` centroids trained with train_kmeans, or, when
// `params.nlist` is 0, round(4 sqrt(n)) of them, clamped to [1, min(n, max_lists)].
// InvalidArgument for no vectors or nlist above the number of vectors (and as train_kmeans).
absl::StatusOr<std::vector<float>> train_coarse_quantizer(std::span<const float> vectors,
                                                          uint32_t dim, KMeansParams params,
                                                          Metric metric, uint32_t max_lists);

// Assignment step, exposed for IVF insertion: for each of the n = vectors.size() / dim rows, the
// index of its best centroid among the centroids.size() / dim row-major `centroids` (smallest L2
// distance under kL2, else largest inner product; ties to the smaller index), computed with one
// BLIS sgemm per block of rows, or for dim <= 16 (product-quantiser sub-spaces, where sgemm is
// slow) directly with SIMD lanes across centroids. When `distances` is non-empty it receives, per
// row, the lower-is-better value that chose it: squared L2 distance (GEMM expansion, clamped at
// 0, or direct for dim <= 16) under kL2, negated inner product otherwise.
// Preconditions: dim >= 1, centroids non-empty, assignment.size() == n, distances empty or of
// size n, inputs finite. Thread-safe.
void assign_nearest(std::span<const float> vectors, uint32_t dim, std::span<const float> centroids,
                    Metric metric, std::span<uint32_t> assignment, std::span<float> distances = {});

}  // namespace meridian::index
