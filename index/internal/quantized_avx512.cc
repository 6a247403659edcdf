// AVX-512F bodies of the quantised-code kernels (16 floats per register, masked tails); compiled
// with -mavx512f, called only when the CPU has it. Includes no standard-library templates.
// GCC 12's avx512fintrin.h self-initialises its "undefined" vectors (GCC bug 105593), which
// -Wuninitialized reports wherever such intrinsics inline.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "index/internal/quantized_kernels.h"

namespace meridian::index::internal {
namespace {

// Fixed-order horizontal sum (GCC 12's _mm512_reduce_add_ps trips -Wmaybe-uninitialized).
inline float horizontal_sum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128 s = _mm512_castps512_ps128(v);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 16 code bytes as floats.
inline __m512 widen(__m128i bytes) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)); }

inline __m512 load_codes(const uint8_t* code) {
  return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code)));
}

template <bool kL2>
inline __m512 step(__m512 acc, __m512 q, __m512 scale, __m512 c) {
  if constexpr (kL2) {
    const __m512 d = _mm512_fnmadd_ps(scale, c, q);
    return _mm512_fmadd_ps(d, d, acc);
  } else {
    return _mm512_fmadd_ps(q, c, acc);
  }
}

// One code against the prepared query (qm and scale under L2, qs under dot; scale unused there).
template <bool kL2>
inline float sq8_row(const float* q, const float* scale, const uint8_t* code, size_t dim) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    acc0 =
        step<kL2>(acc0, _mm512_loadu_ps(q + i), _mm512_loadu_ps(scale + i), load_codes(code + i));
    acc1 = step<kL2>(acc1, _mm512_loadu_ps(q + i + 16), _mm512_loadu_ps(scale + i + 16),
                     load_codes(code + i + 16));
  }
  if (i + 16 <= dim) {
    acc0 =
        step<kL2>(acc0, _mm512_loadu_ps(q + i), _mm512_loadu_ps(scale + i), load_codes(code + i));
    i += 16;
  }
  if (i < dim) {
    // Masked float lanes read as 0 and the missing code bytes as 0, so they add nothing.
    const size_t n = dim - i;
    alignas(16) uint8_t tail[16] = {};
    __builtin_memcpy(tail, code + i, n);
    const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1u);
    acc1 = step<kL2>(acc1, _mm512_maskz_loadu_ps(mask, q + i),
                     kL2 ? _mm512_maskz_loadu_ps(mask, scale + i) : _mm512_setzero_ps(),
                     load_codes(tail));
  }
  return horizontal_sum(_mm512_add_ps(acc0, acc1));
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

// 128 table entries (8 registers) at a time, so every broadcast x[d] feeds 8 independent chains.
template <bool kL2>
void pq_table(const float* x, const float* centroids_t, size_t dsub, float* out) {
  constexpr size_t kRegs = 8;
  for (size_t b0 = 0; b0 < kPqCentroids; b0 += 16 * kRegs) {
    __m512 acc[kRegs];
#pragma GCC unroll 8
    for (size_t u = 0; u < kRegs; ++u) acc[u] = _mm512_setzero_ps();
    for (size_t d = 0; d < dsub; ++d) {
      const __m512 xd = _mm512_set1_ps(x[d]);
      const float* row = centroids_t + d * kPqCentroids + b0;
#pragma GCC unroll 8
      for (size_t u = 0; u < kRegs; ++u) {
        const __m512 c = _mm512_loadu_ps(row + 16 * u);
        if constexpr (kL2) {
          const __m512 diff = _mm512_sub_ps(xd, c);
          acc[u] = _mm512_fmadd_ps(diff, diff, acc[u]);
        } else {
          acc[u] = _mm512_fmadd_ps(xd, c, acc[u]);
        }
      }
    }
#pragma GCC unroll 8
    for (size_t u = 0; u < kRegs; ++u) _mm512_storeu_ps(out + b0 + 16 * u, acc[u]);
  }
}

}  // namespace

QuantizedKernelSet avx512_quantized_kernels() {
  return QuantizedKernelSet{Isa::kAvx512,  &sq8_l2_sqr,     &sq8_dot,        &sq8_l2_sqr_rows,
                            &sq8_dot_rows, &pq_table<true>, &pq_table<false>};
}

}  // namespace meridian::index::internal
