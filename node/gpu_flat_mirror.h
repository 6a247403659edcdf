// A device copy of a flat collection's growing segment, so that its batched exact searches can
// run on the GPU (index::GpuFlatSearcher). The copy is rebuilt lazily: a write only marks it
// stale, and the next search that goes to the GPU uploads the segment again.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "index/gpu_search.h"
#include "index/metric.h"
#include "index/top_k.h"
#include "node/gpu_mode.h"

namespace meridian::node {

// Thread-safe: searches of one node may run concurrently (under the node's reader lock), and
// the first of them after a write uploads the copy; a mutex serialises the device work.
class GpuFlatMirror {
 public:
  // The segment's current rows: labels and their row-major vectors.
  using Snapshot =
      absl::FunctionRef<void(std::vector<uint64_t>& labels, std::vector<float>& vectors)>;

  GpuFlatMirror(uint32_t dim, index::Metric metric, GpuSearchPolicy policy);
  ~GpuFlatMirror();

  // After any change to the segment's rows.
  void invalidate() {
    std::lock_guard<std::mutex> guard(mu_);
    stale_ = true;
  }

  // The top-k of `queries` over `points` rows on the GPU, or nullopt when the caller should
  // search on the CPU: fewer queries or points than the policy asks for, k above the GPU's
  // limit, input the GPU path rejects (the CPU path then reports it), or a device error (logged
  // once; the mirror then stays off).
  std::optional<std::vector<std::vector<index::Neighbor>>> search(std::span<const float> queries,
                                                                  size_t k, size_t points,
                                                                  Snapshot snapshot);

  // GPU searches served so far (tests; metrics later).
  uint64_t gpu_searches() const {
    std::lock_guard<std::mutex> guard(mu_);
    return gpu_searches_;
  }

 private:
  uint32_t dim_;
  index::Metric metric_;
  GpuSearchPolicy policy_;
  mutable std::mutex mu_;  // guards everything below
  std::unique_ptr<index::GpuFlatSearcher> searcher_;
  bool stale_ = true;
  bool failed_ = false;
  uint64_t gpu_searches_ = 0;
};

}  // namespace meridian::node
