// Which segment work a collection needs next (docs/segments.md): when the growing segment is
// sealed, when a sealed segment is compacted, which sealed segments are merged. The builder
// (segment_builder.h) does the work; this file only decides it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "schema/types.h"

namespace meridian::node {

// What the policy knows of one sealed segment.
struct SealedSummary {
  size_t rows = 0;    // rows the segment was built with (or loaded with)
  size_t masked = 0;  // rows deleted since (dead rows included)
  bool busy = false;  // an input of a build in flight, or its file is being written
};

class SegmentPolicy {
 public:
  explicit SegmentPolicy(const CollectionConfig& config);

  // The growing segment is frozen for sealing once it holds this many points: the collection's
  // segment_seal_points, and for IVF with an explicit nlist at least 39 * nlist (enough points
  // to train every list). Flat collections never seal (SIZE_MAX).
  size_t seal_trigger() const { return seal_trigger_; }
  // A sealed segment is rebuilt without its deleted rows once more than the collection's
  // segment_rebuild_deleted_percent of its rows are deleted.
  bool needs_compaction(const SealedSummary& s) const;
  // Size tier of a segment of `live` points: floor(log2(live / seal_points)), 0 below.
  uint32_t tier(size_t live) const;

  // The next rebuild among `sealed` (indexes into it), or nullopt: first a compaction (one
  // segment over its deleted threshold), else a merge of two idle segments of the same tier,
  // lowest tier first. Merging equal tiers keeps the count of sealed segments logarithmic in
  // the collection's size while every point is rebuilt O(log n) times.
  std::optional<std::vector<size_t>> next_rebuild(std::span<const SealedSummary> sealed) const;

 private:
  size_t seal_points_;
  size_t seal_trigger_;
  uint32_t rebuild_deleted_percent_;
};

}  // namespace meridian::node
