// Product quantiser training (per-sub-space k-means), encoding and ADC table computation.
#include "index/product_quantizer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/internal/argmin.h"
#include "index/kmeans.h"

namespace meridian::index {

absl::StatusOr<ProductQuantizer> ProductQuantizer::train(std::span<const float> vectors,
                                                         uint32_t dim, uint32_t m,
                                                         uint32_t iterations, uint64_t seed) {
  if (dim == 0 || m < 1 || m > dim) {
    return absl::InvalidArgumentError(absl::StrCat("pq m=", m, " outside [1, dim=", dim, "]"));
  }
  if (vectors.empty() || vectors.size() % dim != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pq training buffer of ", vectors.size(), " floats, dimension ", dim));
  }
  const size_t n = vectors.size() / dim;
  ProductQuantizer pq(dim, m, std::vector<float>(kCentroids * dim));
  std::vector<float> sub;
  for (uint32_t j = 0; j < m; ++j) {
    const uint32_t first = pq.offset(j), dsub = pq.offset(j + 1) - first;
    sub.resize(n * dsub);
    for (size_t i = 0; i < n; ++i) {
      std::copy_n(vectors.data() + i * dim + first, dsub, sub.data() + i * dsub);
    }
    KMeansParams km;
    km.nlist = static_cast<uint32_t>(std::min(n, kCentroids));
    km.iterations = iterations;
    km.sample = n;
    km.seed = seed + j;
    absl::StatusOr<std::vector<float>> c = train_kmeans(sub, dsub, km, Metric::kL2);
    if (!c.ok()) return c.status();
    // Transpose into the block's dsub rows of 256; missing centroids repeat centroid 0.
    float* block = pq.centroids_.data() + kCentroids * first;
    for (size_t b = 0; b < kCentroids; ++b) {
      const float* src = c->data() + (b < km.nlist ? b : 0) * dsub;
      for (uint32_t d = 0; d < dsub; ++d) block[d * kCentroids + b] = src[d];
    }
  }
  return pq;
}

absl::StatusOr<ProductQuantizer> ProductQuantizer::from_centroids(uint32_t dim, uint32_t m,
                                                                  std::vector<float> centroids) {
  if (dim == 0 || m < 1 || m > dim || centroids.size() != kCentroids * dim) {
    return absl::InvalidArgumentError(absl::StrCat("pq of dimension ", dim, ", m=", m, " with ",
                                                   centroids.size(), " centroid floats"));
  }
  for (float c : centroids) {
    if (!std::isfinite(c)) return absl::InvalidArgumentError("pq centroid is not finite");
  }
  return ProductQuantizer(dim, m, std::move(centroids));
}

void ProductQuantizer::encode(const float* x, uint8_t* code) const {
  const QuantizedKernelSet& kernels = best_quantized_kernels();
  float table[kCentroids];
  for (uint32_t j = 0; j < m_; ++j) {
    const uint32_t first = offset(j);
    kernels.pq_l2_table(x + first, block(j), offset(j + 1) - first, table);
    float best;
    code[j] = static_cast<uint8_t>(internal::argmin(table, nullptr, kCentroids, &best));
  }
}

void ProductQuantizer::decode(const uint8_t* code, float* x) const {
  for (uint32_t j = 0; j < m_; ++j) {
    const uint32_t first = offset(j), dsub = offset(j + 1) - first;
    for (uint32_t d = 0; d < dsub; ++d) x[first + d] = block(j)[d * kCentroids + code[j]];
  }
}

void ProductQuantizer::l2_tables(const float* x, float* out) const {
  const QuantizedKernelSet& kernels = best_quantized_kernels();
  for (uint32_t j = 0; j < m_; ++j) {
    const uint32_t first = offset(j);
    kernels.pq_l2_table(x + first, block(j), offset(j + 1) - first, out + j * kCentroids);
  }
}

void ProductQuantizer::dot_tables(const float* x, float* out) const {
  const QuantizedKernelSet& kernels = best_quantized_kernels();
  for (uint32_t j = 0; j < m_; ++j) {
    const uint32_t first = offset(j);
    kernels.pq_dot_table(x + first, block(j), offset(j + 1) - first, out + j * kCentroids);
  }
}

}  // namespace meridian::index
