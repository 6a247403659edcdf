// A segment: one immutable part of a collection's vector index (docs/segments.md). Exact
// segments (a growing segment frozen for sealing) and sealed segments (HNSW, IVF) share this
// interface, so a collection searches all of them the same way and merges their top-k.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "index/hnsw_index.h"  // LabelFilter
#include "index/metric.h"
#include "index/top_k.h"
#include "schema/types.h"

namespace meridian::node {

// The label of a segment row that matches no live point (a row of a segment file whose point
// was deleted or changed while the node was down): never returned, never looked up.
inline constexpr uint64_t kDeadRow = std::numeric_limits<uint64_t>::max();

// Per-search knobs of the approximate kinds; 0 means the segment's default.
struct SegmentKnobs {
  uint32_t ef = 0;      // HNSW beam width
  uint32_t nprobe = 0;  // IVF lists scanned
  // The share of the points the search's filter accepts, in (0, 1]: a default nprobe is divided
  // by it (see CollectionIndex::search).
  double filter_fraction = 1.0;
};

// Rows of points to build or scan: node labels, point ids and row-major vectors prepared as the
// indexes store them (unit length under cosine). Immutable once shared.
struct SegmentRows {
  std::vector<uint64_t> labels;
  std::vector<PointId> ids;
  std::vector<float> vectors;

  size_t size() const { return labels.size(); }
};

// The interface of a segment. Rows are fixed at construction; a segment never changes, so const
// methods may run on any number of threads at once (deletions are masks kept by the owner and
// passed in as filters).
class Segment {
 public:
  enum class Kind : uint8_t { kExact = 0, kHnsw = 1, kIvfFlat = 2, kIvfPq = 3 };

  virtual ~Segment() = default;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  Kind kind() const { return kind_; }
  uint32_t dim() const { return dim_; }
  index::Metric metric() const { return metric_; }
  // Rows, live or dead (kDeadRow labels included).
  size_t rows() const { return labels_.size(); }
  size_t dead_rows() const { return dead_rows_; }
  std::span<const uint64_t> labels() const { return labels_; }
  std::span<const PointId> ids() const { return ids_; }
  bool contains(uint64_t label) const { return row_of_.contains(label); }
  // The prepared vector of a row (dim floats).
  virtual std::span<const float> vector_at(uint32_t row) const = 0;
  // The prepared vector of `label`, empty when the segment does not hold it.
  std::span<const float> vector_of(uint64_t label) const;

  // For each of the row-major `queries` (validated, dim floats each, not yet normalised), up to
  // k rows whose label `filter` accepts (all live rows when null), best first, as node labels
  // with index::FlatIndex's scores. Dead rows are never returned.
  virtual absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
      const index::LabelFilter* filter) const = 0;

 protected:
  // `labels[i]` and `ids[i]` name row i; kDeadRow labels mark dead rows.
  Segment(Kind kind, uint32_t dim, index::Metric metric, std::vector<uint64_t> labels,
          std::vector<PointId> ids);

 private:
  Kind kind_;
  uint32_t dim_;
  index::Metric metric_;
  std::vector<uint64_t> labels_;
  std::vector<PointId> ids_;
  absl::flat_hash_map<uint64_t, uint32_t> row_of_;  // live label -> row
  size_t dead_rows_ = 0;
};

// Accepts a segment-local row when its node label is live and `filter` (may be null) accepts the
// label: how HNSW and IVF segments, whose indexes are keyed by row, apply node-label filters.
class RowFilter final : public index::LabelFilter {
 public:
  RowFilter(std::span<const uint64_t> labels, const index::LabelFilter* filter)
      : labels_(labels), filter_(filter) {}
  bool accepts(uint64_t row) const override {
    if (row >= labels_.size() || labels_[row] == kDeadRow) return false;
    return filter_ == nullptr || filter_->accepts(labels_[row]);
  }

 private:
  std::span<const uint64_t> labels_;
  const index::LabelFilter* filter_;
};

// A frozen growing segment: its rows searched exactly (SIMD scan) while the sealed segment that
// replaces it is built from the same rows.
class ExactSegment final : public Segment {
 public:
  ExactSegment(uint32_t dim, index::Metric metric, std::shared_ptr<const SegmentRows> rows);

  std::span<const float> vector_at(uint32_t row) const override;
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
      const index::LabelFilter* filter) const override;
  // The rows it was made of (for the builder).
  const std::shared_ptr<const SegmentRows>& source() const { return rows_; }

 private:
  std::shared_ptr<const SegmentRows> rows_;
};

// Exact top-k of `queries` over `rows` (prepared row-major vectors of `dim` floats, named by
// `labels`), restricted to the labels `filter` accepts (all when null; kDeadRow never). Queries
// are normalised here under cosine. Scores as index::FlatIndex.
std::vector<std::vector<index::Neighbor>> scan_top_k(index::Metric metric, uint32_t dim,
                                                     std::span<const float> queries, size_t k,
                                                     std::span<const uint64_t> labels,
                                                     std::span<const float> rows,
                                                     const index::LabelFilter* filter);

}  // namespace meridian::node
