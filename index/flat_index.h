// Exact (brute-force) k-nearest-neighbour index over float32 vectors: contiguous storage, SIMD
// scans for a few queries, blocked BLIS GEMM for many.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/distance.h"
#include "index/internal/aligned_allocator.h"
#include "index/metric.h"
#include "index/top_k.h"
#include "index/vector_check.h"

namespace meridian::index {

struct FlatIndexOptions {
  // A search with at least this many queries uses the blocked GEMM path; fewer use the SIMD scan.
  // Both return the same labels and scores up to ties (see FlatIndex::search). Measured on Zen 4:
  // GEMM matches the scan at 2 queries and is 1.6-2.7x faster per query from 4 on.
  size_t gemm_min_queries = 2;
  // Threads BLIS may use inside one GEMM search (1 = only the calling thread).
  size_t gemm_threads = 1;
  // Kernel path for scans and scores; nullopt or a path this CPU lacks means best_kernels().
  std::optional<Isa> isa;
};

// Exact search over every stored vector. Thread safety: const methods (search, vector_of, ...)
// may run concurrently with each other; search keeps its buffers per call (BLIS's sgemm may be
// called from several threads). add and remove must not overlap with any other call.
class FlatIndex {
 public:
  using Neighbor = index::Neighbor;

  // Precondition: dim >= 1 (the caller validates collection configs).
  FlatIndex(uint32_t dim, Metric metric, FlatIndexOptions options = {});

  // Stores `vector` under `label`, replacing any vector already stored under it. Under kCosine the
  // stored copy is normalised to unit length (a zero vector is stored as is).
  // InvalidArgument: vector.size() != dim(), a non-finite component, or norm > kMaxVectorNorm.
  // ResourceExhausted: the index already holds 2^32 - 1 vectors.
  absl::Status add(uint64_t label, std::span<const float> vector);

  // Removes the vector stored under `label`; false when there was none. The last row moves into
  // the freed slot, so storage stays dense.
  bool remove(uint64_t label);

  bool contains(uint64_t label) const { return rows_.contains(label); }
  size_t size() const { return labels_.size(); }
  uint32_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  // Heap bytes held by vectors, norms and the label maps (capacities, not sizes).
  size_t memory_bytes() const;

  // The stored vector for `label` (normalised under kCosine), or an empty span when absent. Valid
  // until the next add or remove.
  std::span<const float> vector_of(uint64_t label) const;

  // For each of the nq = queries.size() / dim() row-major queries, the min(k, size()) best stored
  // vectors, best first; equal scores in label order. Scores: kL2 squared L2 distance (lower is
  // better), kInnerProduct dot product, kCosine cosine similarity (higher is better; a zero query
  // or vector scores 0). Scan and GEMM paths give bit-identical scores for the same label; near
  // ties (relative gap ~1e-6) may resolve to different labels between the two paths.
  // InvalidArgument: queries.size() is not a multiple of dim(), or a query component is
  // non-finite or a query's norm exceeds kMaxVectorNorm.
  absl::StatusOr<std::vector<std::vector<Neighbor>>> search(std::span<const float> queries,
                                                            size_t k) const;

 private:
  // Copies of the queries, normalised under kCosine; otherwise a view of the input.
  std::span<const float> prepared_queries(std::span<const float> queries,
                                          std::vector<float>& storage) const;
  void search_scan(std::span<const float> queries, size_t k,
                   std::vector<std::vector<Neighbor>>& out) const;
  void search_gemm(std::span<const float> queries, size_t k,
                   std::vector<std::vector<Neighbor>>& out) const;
  // Score of `query` against stored row `row`, via the scan kernels.
  float exact_score(const float* query, size_t row) const;
  const float* row_data(size_t row) const { return data_.data() + row * dim_; }

  uint32_t dim_;
  Metric metric_;
  FlatIndexOptions options_;
  KernelSet kernels_;
  // size() rows of dim_ floats, row-major, cache-line aligned: with a malloc-aligned base, every
  // AVX-512 load of a row whose size is a multiple of 64 bytes could split a cache line, and
  // scan speed depended on where the allocator happened to place the buffer.
  std::vector<float, internal::AlignedAllocator<float>> data_;
  std::vector<uint64_t> labels_;  // Row -> label.
  std::vector<float> sq_norms_;   // Row -> squared norm; kept for kL2 (GEMM expansion).
  absl::flat_hash_map<uint64_t, uint32_t> rows_;  // Label -> row.
};

}  // namespace meridian::index
