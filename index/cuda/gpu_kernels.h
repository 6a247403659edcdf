// The CUDA kernels behind gpu_search.h (gpu_kernels.cu), as plain host functions that enqueue
// work on a stream. Only index/cuda/ includes this header.
//
// Candidates travel as 64-bit sort keys: the high 32 bits order the score (ascending key = better
// match under either metric direction), the low 32 bits are the candidate's rank (the position of
// its label among all stored labels, or a centroid id), so equal scores resolve to the smaller
// label as on the CPU, every key is unique, and a key decodes back to (rank, score).
// kEmptyKey pads results with fewer than k candidates; it sorts after every real key.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace meridian::index::cuda {

inline constexpr uint64_t kEmptyKey = ~uint64_t{0};
// Top-k selection keeps the picked keys of one row in shared memory: k is at most this.
inline constexpr size_t kMaxSelectK = 1024;

// Order-preserving map of a float score to 32 bits (ascending), oriented so that ascending is
// better: scores where higher is better are negated first. -0 is treated as +0.
inline uint32_t score_order_bits_host(float score, bool higher_is_better) {
  float s = (higher_is_better ? -score : score) + 0.0f;
  uint32_t u;
  std::memcpy(&u, &s, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The score a key holds (inverse of score_order_bits_host).
inline float key_score(uint64_t key, bool higher_is_better) {
  uint32_t o = static_cast<uint32_t>(key >> 32);
  uint32_t u = (o & 0x80000000u) ? (o & 0x7fffffffu) : ~o;
  float s;
  std::memcpy(&s, &u, sizeof s);
  return higher_is_better ? -s : s;
}

inline uint32_t key_rank(uint64_t key) { return static_cast<uint32_t>(key); }

// Squared L2 norm of each of `rows` row-major vectors of `dim` floats.
cudaError_t launch_row_sq_norms(const float* vectors, size_t rows, uint32_t dim, float* out,
                                cudaStream_t stream);

// Top-k of a block of similarity scores. `scores` holds `rows` rows of `cols` floats (row stride
// `ld`); the score of (row i, column j) is scores[i * ld + j], or under `l2` (the block then holds
// -2 q.x) max(0, q_sq[i] + x_sq[j] + scores[i * ld + j]). Column j has rank col0 + j. Writes the
// min(k, cols) best keys of each row, ascending, then kEmptyKey up to k, at out[i * out_ld ..].
// Requires 1 <= k <= kMaxSelectK.
cudaError_t launch_select_scores(const float* scores, size_t rows, size_t cols, size_t ld, bool l2,
                                 const float* q_sq, const float* x_sq, uint32_t col0,
                                 bool higher_is_better, size_t k, uint64_t* out, size_t out_ld,
                                 cudaStream_t stream);

// Top-k of rows of keys: row i is keys[i * ld .. i * ld + len). Output as above; `out` may
// overlap the input row it belongs to (each row is read completely before it is written).
cudaError_t launch_select_keys(const uint64_t* keys, size_t rows, size_t len, size_t ld, size_t k,
                               uint64_t* out, size_t out_ld, cudaStream_t stream);

// Top-k of rows of keys with their own lengths: row i is keys[offsets[i] .. offsets[i + 1]).
cudaError_t launch_select_key_ranges(const uint64_t* keys, const uint64_t* offsets, size_t rows,
                                     size_t k, uint64_t* out, size_t out_ld, cudaStream_t stream);

// IVF list scan. For each pair (query i < nq, probe p < nprobe): the list probes[i * nprobe + p]
// holds stored rows [list_offsets[list], list_offsets[list + 1]); the key of each of its rows r
// against query i (squared L2 distance under `l2`, else inner product; rank ranks[r]) is written
// at cand[cand_offsets[i * nprobe + p] + (r - list_offsets[list])].
cudaError_t launch_ivf_scan(const float* queries, size_t nq, uint32_t dim, const uint32_t* probes,
                            size_t nprobe, const uint64_t* list_offsets, const float* vectors,
                            const uint32_t* ranks, const uint64_t* cand_offsets, bool l2,
                            bool higher_is_better, uint64_t* cand, cudaStream_t stream);

}  // namespace meridian::index::cuda
