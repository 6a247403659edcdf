// Product quantiser (Jegou, Douze & Schmid, 2011): a vector is cut into m sub-vectors and each is
// replaced by the id of the nearest of 256 centroids trained by k-means on that sub-space, so a
// vector is stored as m bytes. Distances to codes come from per-query lookup tables (ADC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/quantized_distance.h"

namespace meridian::index {

// Sub-space j covers dimensions [j * dim / m, (j + 1) * dim / m) (integer division), so m need not
// divide dim: sub-space sizes then differ by one. Immutable once built, so const methods are
// thread-safe.
class ProductQuantizer {
 public:
  // Centroids per sub-space: codes are one byte each.
  static constexpr size_t kCentroids = kPqCentroids;

  // Untrained (m() == 0); only assignment from train() or from_centroids() makes it usable.
  ProductQuantizer() = default;

  // Trains the m sub-quantisers by Euclidean k-means (`iterations` Lloyd iterations, seeded from
  // `seed` + j) on the n = vectors.size() / dim row-major `vectors`, all of them: callers sample.
  // With n < 256 a sub-space gets n distinct centroids and the remaining ids repeat centroid 0
  // (never chosen by encode()). InvalidArgument: dim == 0, m outside [1, dim], n == 0, a buffer
  // that is not a multiple of dim, iterations outside [1, 1000], or a non-finite component.
  static absl::StatusOr<ProductQuantizer> train(std::span<const float> vectors, uint32_t dim,
                                                uint32_t m, uint32_t iterations, uint64_t seed);

  // Rebuilds a quantiser from centroids() of a trained one (decoders). InvalidArgument unless
  // 1 <= m <= dim, centroids.size() == 256 * dim and every value is finite.
  static absl::StatusOr<ProductQuantizer> from_centroids(uint32_t dim, uint32_t m,
                                                         std::vector<float> centroids);

  uint32_t dim() const { return dim_; }
  // Sub-quantisers, and so code bytes per vector; 0 when untrained.
  uint32_t m() const { return m_; }
  bool is_trained() const { return m_ != 0; }
  // First dimension of sub-space j (j <= m; offset(m) == dim).
  uint32_t offset(uint32_t j) const { return static_cast<uint32_t>(uint64_t{j} * dim_ / m_); }
  // All centroids, 256 * dim floats: for each sub-space j in order, its dsub_j x 256 block with
  // one row per dimension (transposed, so tables are computed across centroids in SIMD lanes).
  std::span<const float> centroids() const { return centroids_; }
  size_t memory_bytes() const { return centroids_.capacity() * sizeof(float); }

  // Writes the m() byte code of the dim() floats at `x` (per sub-space the nearest centroid in
  // L2, ties to the smaller id).
  void encode(const float* x, uint8_t* code) const;
  // Writes the dim() floats that the m() bytes at `code` stand for.
  void decode(const uint8_t* code, float* x) const;

  // ADC tables for the query `x` (dim() floats): out[j * 256 + b] is the squared L2 distance
  // (l2_tables) or the inner product (dot_tables) between x's sub-vector j and centroid b of
  // sub-space j; `out` holds m() * 256 floats. The distance to a code c is then
  // sum_j out[j * 256 + c[j]], exactly that to decode(c) up to float rounding.
  void l2_tables(const float* x, float* out) const;
  void dot_tables(const float* x, float* out) const;

 private:
  ProductQuantizer(uint32_t dim, uint32_t m, std::vector<float> centroids)
      : dim_(dim), m_(m), centroids_(std::move(centroids)) {}
  const float* block(uint32_t j) const { return centroids_.data() + kCentroids * offset(j); }

  uint32_t dim_ = 0;
  uint32_t m_ = 0;
  std::vector<float> centroids_;
};

}  // namespace meridian::index
