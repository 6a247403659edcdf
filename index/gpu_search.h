// Batched exact search and IVF-Flat list scanning on an NVIDIA GPU (implemented in index/cuda/).
// This header includes no CUDA header, so any code can call it: in a build without CUDA, or on a
// machine without a usable GPU, the searchers' create() fails with Unavailable and callers search
// on the CPU instead (docs/gpu.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "index/ivf_flat_index.h"
#include "index/metric.h"
#include "index/top_k.h"

namespace meridian::index {

// True when this build includes the CUDA path (CMake option MERIDIAN_CUDA).
bool gpu_built();

// True when gpu_built() and the CUDA runtime reports at least one device. Probed once per
// process, then cached; safe from any thread.
bool gpu_available();

// One line for logs: the device searches run on ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB"), or
// why there is none ("not built with CUDA", "no CUDA device found (<CUDA's reason>)").
std::string gpu_description();

// Largest k (and IVF nprobe below nlist) the GPU's top-k selection takes.
inline constexpr size_t kGpuMaxK = 1024;

struct GpuSearchOptions {
  // Device memory one search may use for working buffers (distance blocks, candidate keys),
  // beyond the uploaded vectors: queries and stored rows are split into chunks that fit. A
  // single query's IVF candidates (8 bytes per vector in its probed lists) always fit.
  size_t scratch_bytes = size_t{256} << 20;
  // Flat search: stored rows per distance block; 0 = chosen from scratch_bytes (at most 2^16).
  // Tests set it small to cross block boundaries.
  size_t block_rows = 0;
};

// An exact (brute-force) index uploaded once to the GPU: distances by cuBLAS sgemm (queries x
// stored rows, in blocks), then a radix top-k selection per query that never sorts a whole row.
// Scores and ordering follow FlatIndex (kL2 squared distance, lower is better; kInnerProduct and
// kCosine higher is better; equal scores in label order); values agree with FlatIndex up to float
// rounding (the GPU sums in another order), so near ties may resolve differently.
//
// Not thread-safe: callers serialise all calls on one searcher (it owns one CUDA stream).
class GpuFlatSearcher {
 public:
  // Uploads n = labels.size() row-major vectors (vectors.size() == n * dim), normalised under
  // kCosine as FlatIndex stores them (a zero vector stays zero). Everything is checked before
  // anything is uploaded. InvalidArgument: dim == 0, sizes that do not match, a non-finite
  // component or a norm above kMaxVectorNorm, a repeated label, n >= 2^32 - 1. Unavailable: not
  // built with CUDA or no GPU. ResourceExhausted: the vectors do not fit in device memory.
  static absl::StatusOr<std::unique_ptr<GpuFlatSearcher>> create(uint32_t dim, Metric metric,
                                                                 std::span<const uint64_t> labels,
                                                                 std::span<const float> vectors,
                                                                 GpuSearchOptions options = {});
  ~GpuFlatSearcher();
  GpuFlatSearcher(const GpuFlatSearcher&) = delete;
  GpuFlatSearcher& operator=(const GpuFlatSearcher&) = delete;

  // FlatIndex::search's contract: for each of the nq = queries.size() / dim() queries, the
  // min(k, size()) best stored vectors, best first (k == 0: empty lists). InvalidArgument: k >
  // kGpuMaxK, queries not a multiple of dim(), a bad query. ResourceExhausted / Internal: a device
  // error (the caller may fall back to the CPU).
  absl::StatusOr<std::vector<std::vector<Neighbor>>> search(std::span<const float> queries,
                                                            size_t k) const;

  size_t size() const;
  uint32_t dim() const;
  Metric metric() const;
  // Device bytes held by the uploaded vectors, norms and ranks.
  size_t device_bytes() const;

  struct Impl;

 private:
  explicit GpuFlatSearcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A snapshot of an IvfFlatIndex (kNone quantisation) uploaded to the GPU: its centroids and every
// list. A search picks each query's nprobe lists with the coarse quantiser on the GPU (sgemm
// against the centroids, then top-nprobe), scans those lists (one warp per stored vector) and
// selects the top k. Results follow IvfFlatIndex::search without a filter, up to float rounding
// (near ties, among lists and among vectors, may resolve differently). Later changes to the
// index are not seen: create a new searcher.
//
// Not thread-safe: callers serialise all calls on one searcher.
class GpuIvfFlatSearcher {
 public:
  // InvalidArgument: an untrained index, SQ8 lists (only float32 lists are scanned), more than
  // 2^32 - 2 vectors. Unavailable / ResourceExhausted as GpuFlatSearcher::create.
  static absl::StatusOr<std::unique_ptr<GpuIvfFlatSearcher>> create(const IvfFlatIndex& index,
                                                                    GpuSearchOptions options = {});
  ~GpuIvfFlatSearcher();
  GpuIvfFlatSearcher(const GpuIvfFlatSearcher&) = delete;
  GpuIvfFlatSearcher& operator=(const GpuIvfFlatSearcher&) = delete;

  // IvfFlatIndex::search without a filter: nprobe 0 uses the index's default, a value above
  // nlist() scans every list. InvalidArgument: k == 0 or k > kGpuMaxK, nprobe above kGpuMaxK
  // but below nlist(), bad queries. ResourceExhausted / Internal: a device error.
  absl::StatusOr<std::vector<std::vector<Neighbor>>> search(std::span<const float> queries,
                                                            size_t k, size_t nprobe = 0) const;

  size_t size() const;
  uint32_t nlist() const;
  size_t device_bytes() const;

  struct Impl;

 private:
  explicit GpuIvfFlatSearcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian::index
