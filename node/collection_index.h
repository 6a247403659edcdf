// The in-memory vector index of one collection: exact (index::FlatIndex) or approximate
// (index::HnswIndex), chosen by the collection's config. Labels are the node's dense point
// labels. Not thread-safe: the node serialises every call under its lock.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "index/flat_index.h"
#include "index/hnsw_index.h"
#include "schema/types.h"

namespace meridian::node {

class CollectionIndex {
 public:
  explicit CollectionIndex(const CollectionConfig& config);

  absl::Status add(uint64_t label, std::span<const float> vector);
  // Builds from many points at once (HNSW uses `threads` workers); all-or-nothing.
  absl::Status add_batch(std::span<const uint64_t> labels, std::span<const float> vectors,
                         size_t threads);
  bool remove(uint64_t label);
  size_t size() const;
  // Scores as index::FlatIndex (l2: squared distance; cosine and dot: similarity), best first.
  // `ef` is the HNSW beam width (0: the default); the flat index ignores it.
  // `filter` (HNSW only; may be null) restricts the results to the labels it accepts and is
  // applied during the graph traversal. Precondition: filter is null for a flat index (scan the
  // matching labels with vector_of() instead).
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, uint32_t ef,
      const index::LabelFilter* filter = nullptr) const;

  // True for HNSW (approximate), false for flat (exact).
  bool approximate() const { return hnsw_ != nullptr; }
  index::Metric metric() const { return hnsw_ ? hnsw_->metric() : flat_->metric(); }
  uint32_t dim() const { return hnsw_ ? hnsw_->dim() : flat_->dim(); }
  // The stored vector of `label` (normalised under cosine), empty when absent. Valid until the
  // next add or remove.
  std::span<const float> vector_of(uint64_t label) const;

 private:
  std::unique_ptr<index::FlatIndex> flat_;
  std::unique_ptr<index::HnswIndex> hnsw_;
};

}  // namespace meridian::node
