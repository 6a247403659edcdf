// Segment basics and the exact (frozen) segment; see segment.h.
#include "node/segment.h"

#include <algorithm>

#include "index/distance.h"

namespace meridian::node {
namespace {

// Rows scored per kernel call: the scores of one block stay in L1.
constexpr size_t kScanBlock = 256;

}  // namespace

Segment::Segment(Kind kind, uint32_t dim, index::Metric metric, std::vector<uint64_t> labels,
                 std::vector<PointId> ids)
    : kind_(kind), dim_(dim), metric_(metric), labels_(std::move(labels)), ids_(std::move(ids)) {
  row_of_.reserve(labels_.size());
  for (size_t row = 0; row < labels_.size(); ++row) {
    if (labels_[row] == kDeadRow) {
      ++dead_rows_;
    } else {
      row_of_.emplace(labels_[row], static_cast<uint32_t>(row));
    }
  }
}

std::span<const float> Segment::vector_of(uint64_t label) const {
  auto it = row_of_.find(label);
  if (it == row_of_.end()) return {};
  return vector_at(it->second);
}

ExactSegment::ExactSegment(uint32_t dim, index::Metric metric,
                           std::shared_ptr<const SegmentRows> rows)
    : Segment(Kind::kExact, dim, metric, rows->labels, rows->ids), rows_(std::move(rows)) {}

std::span<const float> ExactSegment::vector_at(uint32_t row) const {
  return std::span<const float>(rows_->vectors).subspan(size_t{row} * dim(), dim());
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> ExactSegment::search(
    std::span<const float> queries, size_t k, const SegmentKnobs& /*knobs*/,
    const index::LabelFilter* filter) const {
  return scan_top_k(metric(), dim(), queries, k, rows_->labels, rows_->vectors, filter);
}

std::vector<std::vector<index::Neighbor>> scan_top_k(index::Metric metric, uint32_t dim,
                                                     std::span<const float> queries, size_t k,
                                                     std::span<const uint64_t> labels,
                                                     std::span<const float> rows,
                                                     const index::LabelFilter* filter) {
  const index::KernelSet& kernels = index::best_kernels();
  const size_t nq = queries.size() / dim;
  std::vector<std::vector<index::Neighbor>> out(nq);
  index::TopK top(k, index::higher_is_better(metric));
  std::vector<float> query(dim);
  std::vector<float> scores(kScanBlock);
  for (size_t q = 0; q < nq; ++q) {
    query.assign(queries.begin() + static_cast<ptrdiff_t>(q * dim),
                 queries.begin() + static_cast<ptrdiff_t>((q + 1) * dim));
    if (metric == index::Metric::kCosine) index::normalize_in_place(query);
    top.reset();
    for (size_t first = 0; first < labels.size(); first += kScanBlock) {
      const size_t n = std::min(kScanBlock, labels.size() - first);
      const float* block = rows.data() + first * dim;
      if (metric == index::Metric::kL2) {
        kernels.l2_sqr_rows(query.data(), block, n, dim, scores.data());
      } else {
        kernels.inner_product_rows(query.data(), block, n, dim, scores.data());
      }
      for (size_t i = 0; i < n; ++i) {
        const uint64_t label = labels[first + i];
        if (label == kDeadRow || (filter != nullptr && !filter->accepts(label))) continue;
        top.push(label, scores[i]);
      }
    }
    top.take_sorted(out[q]);
  }
  return out;
}

}  // namespace meridian::node
