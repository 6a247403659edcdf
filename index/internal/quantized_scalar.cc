// Portable scalar bodies of the quantised-code kernels: the fallback path and the shape every
// SIMD body must match.
#include "index/internal/quantized_kernels.h"

namespace meridian::index::internal {
namespace {

float sq8_l2_sqr_scalar(const float* qm, const float* scale, const uint8_t* code, size_t dim) {
  float acc = 0.0f;
  for (size_t i = 0; i < dim; ++i) {
    const float d = qm[i] - scale[i] * static_cast<float>(code[i]);
    acc += d * d;
  }
  return acc;
}

float sq8_dot_scalar(const float* qs, const uint8_t* code, size_t dim) {
  float acc = 0.0f;
  for (size_t i = 0; i < dim; ++i) acc += qs[i] * static_cast<float>(code[i]);
  return acc;
}

void sq8_l2_sqr_rows_scalar(const float* qm, const float* scale, const uint8_t* codes,
                            size_t n_rows, size_t dim, float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = sq8_l2_sqr_scalar(qm, scale, codes + r * dim, dim);
}

void sq8_dot_rows_scalar(const float* qs, const uint8_t* codes, size_t n_rows, size_t dim,
                         float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = sq8_dot_scalar(qs, codes + r * dim, dim);
}

void pq_l2_table_scalar(const float* x, const float* centroids_t, size_t dsub, float* out) {
  for (size_t b = 0; b < kPqCentroids; ++b) out[b] = 0.0f;
  for (size_t d = 0; d < dsub; ++d) {
    const float* row = centroids_t + d * kPqCentroids;
    for (size_t b = 0; b < kPqCentroids; ++b) {
      const float diff = x[d] - row[b];
      out[b] += diff * diff;
    }
  }
}

void pq_dot_table_scalar(const float* x, const float* centroids_t, size_t dsub, float* out) {
  for (size_t b = 0; b < kPqCentroids; ++b) out[b] = 0.0f;
  for (size_t d = 0; d < dsub; ++d) {
    const float* row = centroids_t + d * kPqCentroids;
    for (size_t b = 0; b < kPqCentroids; ++b) out[b] += x[d] * row[b];
  }
}

}  // namespace

QuantizedKernelSet scalar_quantized_kernels() {
  return QuantizedKernelSet{
      Isa::kScalar,         &sq8_l2_sqr_scalar,  &sq8_dot_scalar,     &sq8_l2_sqr_rows_scalar,
      &sq8_dot_rows_scalar, &pq_l2_table_scalar, &pq_dot_table_scalar};
}

}  // namespace meridian::index::internal
