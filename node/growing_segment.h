// The growing segment of a collection: an exact, mutable index (index::FlatIndex) that takes new
// points immediately. A flat collection keeps all its points here; an approximate one freezes
// it into an ExactSegment when it is full and seals that in the background (docs/segments.md).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "index/flat_index.h"
#include "node/gpu_flat_mirror.h"
#include "node/segment.h"

namespace meridian::node {

// Not thread-safe: the owning CollectionIndex serialises every call.
class GrowingSegment {
 public:
  // With `gpu` enabled, unfiltered searches the policy deems big enough run on the GPU
  // (gpu_flat_mirror.h), falling back to the CPU.
  GrowingSegment(uint32_t dim, index::Metric metric, GpuSearchPolicy gpu = {});

  // Stores `vector` under `label` (replacing a vector stored under it). InvalidArgument for a
  // vector index::FlatIndex rejects.
  absl::Status add(uint64_t label, const PointId& id, std::span<const float> vector);
  // False when `label` is not here.
  bool remove(uint64_t label);
  bool contains(uint64_t label) const { return position_.contains(label); }
  size_t size() const { return labels_.size(); }
  // The stored vector (unit length under cosine), empty when absent; valid until the next add
  // or remove.
  std::span<const float> vector_of(uint64_t label) const { return flat_.vector_of(label); }

  // Top-k as index::FlatIndex (batched GEMM for many queries, or the GPU under an enabled
  // policy) when `filter` is null, else an exact scan of the labels `filter` accepts.
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, const index::LabelFilter* filter) const;

  // Moves every point out (as prepared rows) and leaves the segment empty.
  std::shared_ptr<const SegmentRows> take_rows();

 private:
  uint32_t dim_;
  index::Metric metric_;
  index::FlatIndex flat_;
  // Enumerable copies of the labels and ids (FlatIndex has no iteration), swap-removed.
  std::vector<uint64_t> labels_;
  std::vector<PointId> ids_;
  absl::flat_hash_map<uint64_t, size_t> position_;  // label -> index in labels_ / ids_
  // The GPU copy (null unless the policy is enabled); mutable: a search may refresh it.
  mutable std::unique_ptr<GpuFlatMirror> gpu_;
};

}  // namespace meridian::node
