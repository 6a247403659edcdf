// CUDA kernels of the GPU search path: row norms, the IVF list scan and a radix top-k selection
// (see gpu_kernels.h for the key format). Kept free of Abseil and of the search logic so that nvcc
// compiles one small file.
#include <cstdint>

#include "index/cuda/gpu_kernels.h"

namespace meridian::index::cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr unsigned kWarps = kThreads / 32;

__device__ __forceinline__ uint32_t order_bits(float score, bool higher_is_better) {
  const uint32_t u = __float_as_uint((higher_is_better ? -score : score) + 0.0f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Key sources: what the selection kernel reads for (row, j).
struct ScoreSource {
  const float* scores;
  size_t cols, ld;
  bool l2;
  const float* q_sq;
  const float* x_sq;
  uint32_t col0;
  bool higher_is_better;

  __device__ size_t length(size_t) const { return cols; }
  __device__ uint64_t key(size_t row, size_t j) const {
    float s = scores[row * ld + j];
    if (l2) s = fmaxf(0.0f, q_sq[row] + x_sq[j] + s);
    return (uint64_t{order_bits(s, higher_is_better)} << 32) | (col0 + static_cast<uint32_t>(j));
  }
};

struct KeySource {
  const uint64_t* keys;
  size_t len, ld;

  __device__ size_t length(size_t) const { return len; }
  __device__ uint64_t key(size_t row, size_t j) const { return keys[row * ld + j]; }
};

struct KeyRangeSource {
  const uint64_t* keys;
  const uint64_t* offsets;

  __device__ size_t length(size_t row) const { return offsets[row + 1] - offsets[row]; }
  __device__ uint64_t key(size_t row, size_t j) const { return keys[offsets[row] + j]; }
};

// One block per row. A most-significant-digit radix select (8 bits per pass) narrows the prefix
// of the take-th smallest key until the keys below it plus those equal to it are exactly the
// ones to keep (usually after 3-5 passes over the row; keys are unique except for repeated
// kEmptyKey padding, where the equal ones are capped). The kept keys, at most kMaxSelectK, are
// gathered in shared memory and bitonic-sorted; the row itself is never sorted.
template <class Source>
__global__ void __launch_bounds__(kThreads)
    select_kernel(Source src, size_t k, uint64_t* out, size_t out_ld) {
  __shared__ uint32_t hist[256];
  __shared__ uint64_t picked[kMaxSelectK];
  __shared__ uint64_t s_prefix;
  __shared__ size_t s_need;
  __shared__ int s_done;
  __shared__ unsigned s_less, s_equal;

  const size_t row = blockIdx.x;
  const unsigned tid = threadIdx.x;
  const size_t len = src.length(row);
  const size_t take = len < k ? len : k;
  const bool all = take == len;

  // Invariant: `need` >= 1 keys are still to take among those whose top (64 - shift) bits equal
  // `prefix`, and at least `need` such keys exist; every key with a smaller prefix is kept.
  uint64_t prefix = 0;
  int shift = 64;
  size_t need = take;
  if (!all) {
    while (shift > 0) {
      const int next = shift - 8;
      for (unsigned b = tid; b < 256; b += blockDim.x) hist[b] = 0;
      __syncthreads();
      for (size_t j = tid; j < len; j += blockDim.x) {
        const uint64_t key = src.key(row, j);
        if (shift == 64 || (key >> shift) == prefix) {
          atomicAdd(&hist[(key >> next) & 0xffu], 1u);
        }
      }
      __syncthreads();
      if (tid == 0) {
        size_t before = 0;
        unsigned b = 0;
        while (b < 255 && before + hist[b] < need) before += hist[b++];
        s_prefix = (prefix << 8) | b;
        s_need = need - before;
        s_done = hist[b] == need - before;
      }
      __syncthreads();
      prefix = s_prefix;
      need = s_need;
      shift = next;
      const bool done = s_done;
      __syncthreads();  // everyone has read s_* before thread 0 may write them again
      if (done) break;
    }
  }

  if (tid == 0) {
    s_less = 0;
    s_equal = 0;
  }
  __syncthreads();
  const size_t n_less = all ? take : take - need;
  for (size_t j = tid; j < len; j += blockDim.x) {
    const uint64_t key = src.key(row, j);
    if (all) {
      picked[atomicAdd(&s_less, 1u)] = key;
      continue;
    }
    const uint64_t top = key >> shift;  // shift <= 56 here: the loop ran at least once
    if (top < prefix) {
      picked[atomicAdd(&s_less, 1u)] = key;
    } else if (top == prefix) {
      const unsigned slot = atomicAdd(&s_equal, 1u);
      if (slot < need) picked[n_less + slot] = key;
    }
  }
  unsigned p2 = 1;
  while (p2 < take) p2 <<= 1;
  __syncthreads();
  for (unsigned i = static_cast<unsigned>(take) + tid; i < p2; i += blockDim.x) {
    picked[i] = kEmptyKey;
  }
  __syncthreads();
  // Bitonic sort of picked[0, p2), ascending.
  for (unsigned size = 2; size <= p2; size <<= 1) {
    for (unsigned stride = size >> 1; stride > 0; stride >>= 1) {
      for (unsigned i = tid; i < p2; i += blockDim.x) {
        const unsigned j = i ^ stride;
        if (j > i) {
          const uint64_t a = picked[i];
          const uint64_t b = picked[j];
          const bool ascending = (i & size) == 0;
          if ((a > b) == ascending) {
            picked[i] = b;
            picked[j] = a;
          }
        }
      }
      __syncthreads();
    }
  }
  uint64_t* dst = out + row * out_ld;
  for (size_t i = tid; i < k; i += blockDim.x) dst[i] = i < take ? picked[i] : kEmptyKey;
}

// One warp per row.
__global__ void __launch_bounds__(kThreads)
    row_sq_norms_kernel(const float* vectors, size_t rows, uint32_t dim, float* out) {
  const size_t r = size_t{blockIdx.x} * kWarps + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (r >= rows) return;  // uniform within the warp
  const float* v = vectors + r * dim;
  float acc = 0.0f;
  for (uint32_t t = lane; t < dim; t += 32) acc += v[t] * v[t];
  acc = warp_sum(acc);
  if (lane == 0) out[r] = acc;
}

// One block per (query, probe); each warp scores one stored row at a time, its lanes striding
// over the dimensions (coalesced reads of the row).
__global__ void __launch_bounds__(kThreads)
    ivf_scan_kernel(const float* queries, uint32_t dim, const uint32_t* probes, size_t nprobe,
                    const uint64_t* list_offsets, const float* vectors, const uint32_t* ranks,
                    const uint64_t* cand_offsets, bool l2, bool higher_is_better, uint64_t* cand) {
  const size_t pair = blockIdx.x;
  const size_t query = pair / nprobe;
  const uint32_t list = probes[pair];
  const uint64_t begin = list_offsets[list];
  const uint64_t end = list_offsets[list + 1];
  const float* q = queries + query * dim;
  uint64_t* dst = cand + cand_offsets[pair];
  const unsigned lane = threadIdx.x % 32;
  for (uint64_t r = begin + threadIdx.x / 32; r < end; r += kWarps) {
    const float* x = vectors + r * dim;
    float acc = 0.0f;
    if (l2) {
      for (uint32_t t = lane; t < dim; t += 32) {
        const float d = q[t] - x[t];
        acc += d * d;
      }
    } else {
      for (uint32_t t = lane; t < dim; t += 32) acc += q[t] * x[t];
    }
    acc = warp_sum(acc);
    if (lane == 0) {
      dst[r - begin] = (uint64_t{order_bits(acc, higher_is_better)} << 32) | ranks[r];
    }
  }
}

template <class Source>
cudaError_t launch_select(const Source& src, size_t rows, size_t k, uint64_t* out, size_t out_ld,
                          cudaStream_t stream) {
  if (k == 0 || k > kMaxSelectK) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  select_kernel<Source><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(src, k, out, out_ld);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_row_sq_norms(const float* vectors, size_t rows, uint32_t dim, float* out,
                                cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  const auto blocks = static_cast<unsigned>((rows + kWarps - 1) / kWarps);
  row_sq_norms_kernel<<<blocks, kThreads, 0, stream>>>(vectors, rows, dim, out);
  return cudaGetLastError();
}

cudaError_t launch_select_scores(const float* scores, size_t rows, size_t cols, size_t ld, bool l2,
                                 const float* q_sq, const float* x_sq, uint32_t col0,
                                 bool higher_is_better, size_t k, uint64_t* out, size_t out_ld,
                                 cudaStream_t stream) {
  return launch_select(ScoreSource{scores, cols, ld, l2, q_sq, x_sq, col0, higher_is_better}, rows,
                       k, out, out_ld, stream);
}

cudaError_t launch_select_keys(const uint64_t* keys, size_t rows, size_t len, size_t ld, size_t k,
                               uint64_t* out, size_t out_ld, cudaStream_t stream) {
  return launch_select(KeySource{keys, len, ld}, rows, k, out, out_ld, stream);
}

cudaError_t launch_select_key_ranges(const uint64_t* keys, const uint64_t* offsets, size_t rows,
                                     size_t k, uint64_t* out, size_t out_ld, cudaStream_t stream) {
  return launch_select(KeyRangeSource{keys, offsets}, rows, k, out, out_ld, stream);
}

cudaError_t launch_ivf_scan(const float* queries, size_t nq, uint32_t dim, const uint32_t* probes,
                            size_t nprobe, const uint64_t* list_offsets, const float* vectors,
                            const uint32_t* ranks, const uint64_t* cand_offsets, bool l2,
                            bool higher_is_better, uint64_t* cand, cudaStream_t stream) {
  if (nq == 0 || nprobe == 0) return cudaSuccess;
  const auto pairs = static_cast<unsigned>(nq * nprobe);
  ivf_scan_kernel<<<pairs, kThreads, 0, stream>>>(queries, dim, probes, nprobe, list_offsets,
                                                  vectors, ranks, cand_offsets, l2,
                                                  higher_is_better, cand);
  return cudaGetLastError();
}

}  // namespace meridian::index::cuda
