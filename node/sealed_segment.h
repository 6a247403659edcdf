// Sealed segments: immutable approximate indexes over a fixed set of points, built in the
// background from SegmentRows with the collection's index kind (HNSW, IVF-Flat or IVF-PQ). Their
// indexes are keyed by row (0..n-1), so a segment persisted to a file can be reloaded under the
// node labels of a later process (segment_file.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "index/hnsw_index.h"
#include "index/ivf_flat_index.h"
#include "index/ivf_pq_index.h"
#include "node/segment.h"
#include "schema/types.h"

namespace meridian::node {

// What a collection's sealed segments are built with (from its CollectionConfig).
struct SegmentSpec {
  IndexKind kind = IndexKind::kFlat;
  uint32_t dim = 0;
  index::Metric metric = index::Metric::kL2;
  index::HnswParams hnsw;  // kHnsw (quantization and refine_factor included)
  uint32_t ivf_nlist = 0;  // kIvfFlat, kIvfPq; 0 = ivf_lists_for(n) per segment
  // kIvfFlat: vector storage and re-ranking (refine_factor >= 1 under kSq8).
  index::Quantization ivf_quantization = index::Quantization::kNone;
  uint32_t ivf_refine_factor = 2;
  uint32_t pq_m = 0;              // kIvfPq: code bytes per vector (ivf_pq_m_for resolved)
  uint32_t pq_refine_factor = 0;  // kIvfPq: re-rank factor (effective_refine_factor)

  static SegmentSpec of(const CollectionConfig& config);
};

// The index metric of a collection metric.
index::Metric index_metric(Metric metric);

// IVF lists of a segment of n points: `configured` when non-zero, else min(4 sqrt(n), n / 39),
// at least 1 (k-means wants about 39 training points per centroid).
uint32_t ivf_lists_for(uint32_t configured, size_t n);
// Lists a search scans when it passes nprobe = 0: max(8, nlist / 8 rounded up), at most nlist
// (recall@10 about 0.95 on SIFT-like data, measured in tests/node/segment_restart_test.cc).
uint32_t ivf_default_nprobe(uint32_t nlist);

class HnswSegment final : public Segment {
 public:
  // `hnsw` holds row r under label r for every row; `labels`/`ids` name the rows.
  HnswSegment(std::unique_ptr<index::HnswIndex> hnsw, std::vector<uint64_t> labels,
              std::vector<PointId> ids);

  std::span<const float> vector_at(uint32_t row) const override {
    return hnsw_->vector_of_label(row);
  }
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
      const index::LabelFilter* filter) const override;
  const index::HnswIndex& hnsw() const { return *hnsw_; }

 private:
  std::unique_ptr<index::HnswIndex> hnsw_;
};

class IvfFlatSegment final : public Segment {
 public:
  // `ivf` holds row r under label r; `rows` are the vectors it was built from (IvfFlatIndex
  // does not hand its vectors back, and rebuilds and exact scans need them).
  IvfFlatSegment(std::unique_ptr<index::IvfFlatIndex> ivf, std::shared_ptr<const SegmentRows> rows);

  std::span<const float> vector_at(uint32_t row) const override;
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
      const index::LabelFilter* filter) const override;
  uint32_t nlist() const { return ivf_->nlist(); }
  const index::IvfFlatIndex& ivf_flat() const { return *ivf_; }

 private:
  std::unique_ptr<index::IvfFlatIndex> ivf_;
  std::shared_ptr<const SegmentRows> rows_;
};

class IvfPqSegment final : public Segment {
 public:
  // `pq` holds row r under label r; `rows` are the float32 vectors it was built from (exact scans,
  // rebuilds and vector reads need them; the index keeps only codes, plus its re-rank store).
  IvfPqSegment(std::unique_ptr<index::IvfPqIndex> pq, std::shared_ptr<const SegmentRows> rows);

  std::span<const float> vector_at(uint32_t row) const override;
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
      const index::LabelFilter* filter) const override;
  uint32_t nlist() const { return pq_->nlist(); }
  const index::IvfPqIndex& ivf_pq() const { return *pq_; }

 private:
  std::unique_ptr<index::IvfPqIndex> pq_;
  std::shared_ptr<const SegmentRows> rows_;
};

// The IVF lists a segment of n points is built with: ivf_lists_for(spec.ivf_nlist, n), at most
// min(n, kMaxIvfNlist).
uint32_t ivf_lists_of(const SegmentSpec& spec, size_t n);

// Builds a sealed segment of `spec`'s kind over `rows` (all live; none kDeadRow) with `threads`
// workers (HNSW). InvalidArgument for an empty row set or a flat spec; errors of the index build.
absl::StatusOr<std::shared_ptr<const Segment>> build_sealed_segment(
    const SegmentSpec& spec, std::shared_ptr<const SegmentRows> rows, size_t threads);

}  // namespace meridian::node
