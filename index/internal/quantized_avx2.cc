// AVX2/FMA bodies of the quantised-code kernels (8 floats per register); compiled with -mavx2
// -mfma, called only when the CPU has both. Includes no standard-library templates, so no AVX code
// leaks into shared inlines.
#include <immintrin.h>

#include "index/internal/quantized_kernels.h"

namespace meridian::index::internal {
namespace {

// kTailMask + 8 - n yields a mask whose first n lanes are set.
alignas(32) constexpr int kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The 8 code bytes in the low half of `bytes` as floats.
inline __m256 widen(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }

template <bool kL2>
inline __m256 step(__m256 acc, const float* q, const float* scale, __m256 c) {
  if constexpr (kL2) {
    const __m256 d = _mm256_fnmadd_ps(_mm256_loadu_ps(scale), c, _mm256_loadu_ps(q));
    return _mm256_fmadd_ps(d, d, acc);
  } else {
    return _mm256_fmadd_ps(_mm256_loadu_ps(q), c, acc);
  }
}

// One code against the prepared query (qm and scale under L2, qs under dot; scale unused there).
template <bool kL2>
inline float sq8_row(const float* q, const float* scale, const uint8_t* code, size_t dim) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i));
    acc0 = step<kL2>(acc0, q + i, scale + i, widen(bytes));
    acc1 = step<kL2>(acc1, q + i + 8, scale + i + 8, widen(_mm_srli_si128(bytes, 8)));
  }
  if (i + 8 <= dim) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + i));
    acc0 = step<kL2>(acc0, q + i, scale + i, widen(bytes));
    i += 8;
  }
  if (i < dim) {
    // Masked float lanes read as 0 and the missing code bytes as 0, so they add nothing.
    const size_t n = dim - i;
    long long tail = 0;
    __builtin_memcpy(&tail, code + i, n);
    const __m256 c = widen(_mm_cvtsi64_si128(tail));
    const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + 8 - n));
    const __m256 qv = _mm256_maskload_ps(q + i, mask);
    if constexpr (kL2) {
      const __m256 d = _mm256_fnmadd_ps(_mm256_maskload_ps(scale + i, mask), c, qv);
      acc1 = _mm256_fmadd_ps(d, d, acc1);
    } else {
      acc1 = _mm256_fmadd_ps(qv, c, acc1);
    }
  }
  return horizontal_sum(_mm256_add_ps(acc0, acc1));
}

float sq8_l2_sqr(const float* qm, const float* scale, const uint8_t* code, size_t dim) {
  return sq8_row<true>(qm, scale, code, dim);
}

float sq8_dot(const float* qs, const uint8_t* code, size_t dim) {
  return sq8_row<false>(qs, qs, code, dim);
}

void sq8_l2_sqr_rows(const float* qm, const float* scale, const uint8_t* codes, size_t n_rows,
                     size_t dim, float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = sq8_row<true>(qm, scale, codes + r * dim, dim);
}

void sq8_dot_rows(const float* qs, const uint8_t* codes, size_t n_rows, size_t dim, float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = sq8_row<false>(qs, qs, codes + r * dim, dim);
}

// 64 table entries (8 registers) at a time, so every broadcast x[d] feeds 8 independent chains.
template <bool kL2>
void pq_table(const float* x, const float* centroids_t, size_t dsub, float* out) {
  constexpr size_t kRegs = 8;
  for (size_t b0 = 0; b0 < kPqCentroids; b0 += 8 * kRegs) {
    __m256 acc[kRegs];
#pragma GCC unroll 8
    for (size_t u = 0; u < kRegs; ++u) acc[u] = _mm256_setzero_ps();
    for (size_t d = 0; d < dsub; ++d) {
      const __m256 xd = _mm256_broadcast_ss(x + d);
      const float* row = centroids_t + d * kPqCentroids + b0;
#pragma GCC unroll 8
      for (size_t u = 0; u < kRegs; ++u) {
        const __m256 c = _mm256_loadu_ps(row + 8 * u);
        if constexpr (kL2) {
          const __m256 diff = _mm256_sub_ps(xd, c);
          acc[u] = _mm256_fmadd_ps(diff, diff, acc[u]);
        } else {
          acc[u] = _mm256_fmadd_ps(xd, c, acc[u]);
        }
      }
    }
#pragma GCC unroll 8
    for (size_t u = 0; u < kRegs; ++u) _mm256_storeu_ps(out + b0 + 8 * u, acc[u]);
  }
}

}  // namespace

QuantizedKernelSet avx2_quantized_kernels() {
  return QuantizedKernelSet{Isa::kAvx2,    &sq8_l2_sqr,     &sq8_dot,        &sq8_l2_sqr_rows,
                            &sq8_dot_rows, &pq_table<true>, &pq_table<false>};
}

}  // namespace meridian::index::internal
