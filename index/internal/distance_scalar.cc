// Portable scalar kernel bodies: the fallback path and the shape every SIMD body must match.
#include "index/internal/kernels.h"

namespace meridian::index::internal {
namespace {

float l2_sqr_scalar(const float* a, const float* b, size_t dim) {
  float acc = 0.0f;
  for (size_t i = 0; i < dim; ++i) {
    const float d = a[i] - b[i];
    acc += d * d;
  }
  return acc;
}

float inner_product_scalar(const float* a, const float* b, size_t dim) {
  float acc = 0.0f;
  for (size_t i = 0; i < dim; ++i) acc += a[i] * b[i];
  return acc;
}

void l2_sqr_rows_scalar(const float* query, const float* rows, size_t n_rows, size_t dim,
                        float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = l2_sqr_scalar(query, rows + r * dim, dim);
}

void inner_product_rows_scalar(const float* query, const float* rows, size_t n_rows, size_t dim,
                               float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = inner_product_scalar(query, rows + r * dim, dim);
}

}  // namespace

KernelSet scalar_kernels() {
  return KernelSet{Isa::kScalar, &l2_sqr_scalar, &inner_product_scalar, &l2_sqr_rows_scalar,
                   &inner_product_rows_scalar};
}

}  // namespace meridian::index::internal
