// Distance kernels over quantised codes: asymmetric float-query-vs-SQ8-code distances and the
// per-query product-quantiser lookup tables, with scalar, AVX2/FMA and AVX-512F bodies chosen at
// run time like distance.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "index/distance.h"

namespace meridian::index {

// Centroids of one product-quantiser sub-space (256 of them).
inline constexpr size_t kPqCentroids = 256;

// One consistent set of kernel bodies. All pointers are non-null; `dim` (or `dsub`) may be 0,
// giving 0. The per-row and `*_rows` results are bit-identical within one set.
//
// SQ8: dimension i of a code decodes to min[i] + scale[i] * code[i]. The kernels take the query
// already combined with the quantiser's ranges (ScalarQuantizer::prepare_l2 / prepare_dot), so
// the inner loop reads one or two float streams that stay in L1 and one byte stream.
//
// PQ: a sub-space's 256 centroids of `dsub` floats are stored transposed (dsub rows of 256), so
// one table entry per centroid is computed in SIMD lanes across centroids.
struct QuantizedKernelSet {
  Isa isa;
  // sum_i (qm[i] - scale[i] * code[i])^2 with qm = query - min: the squared L2 distance from the
  // query to the decoded vector.
  float (*sq8_l2_sqr)(const float* qm, const float* scale, const uint8_t* code, size_t dim);
  // sum_i qs[i] * code[i] with qs = query * scale: the inner product of the query with the
  // decoded vector, minus <query, min>.
  float (*sq8_dot)(const float* qs, const uint8_t* code, size_t dim);
  // out[r] = sq8_l2_sqr(qm, scale, codes + r * dim, dim) for r in [0, n_rows).
  void (*sq8_l2_sqr_rows)(const float* qm, const float* scale, const uint8_t* codes, size_t n_rows,
                          size_t dim, float* out);
  // out[r] = sq8_dot(qs, codes + r * dim, dim) for r in [0, n_rows).
  void (*sq8_dot_rows)(const float* qs, const uint8_t* codes, size_t n_rows, size_t dim,
                       float* out);
  // out[b] = sum_{d < dsub} (x[d] - centroids_t[d * 256 + b])^2 for b in [0, 256).
  void (*pq_l2_table)(const float* x, const float* centroids_t, size_t dsub, float* out);
  // out[b] = sum_{d < dsub} x[d] * centroids_t[d * 256 + b] for b in [0, 256).
  void (*pq_dot_table)(const float* x, const float* centroids_t, size_t dsub, float* out);
};

// The kernels for `isa`, or nullopt when this CPU cannot run that path (see available_isas()).
std::optional<QuantizedKernelSet> quantized_kernels_for(Isa isa);

// The fastest available set; chosen once per process on first use.
const QuantizedKernelSet& best_quantized_kernels();

}  // namespace meridian::index
