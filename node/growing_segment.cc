// The exact growing segment; see growing_segment.h.
#include "node/growing_segment.h"

#include <algorithm>

namespace meridian::node {

GrowingSegment::GrowingSegment(uint32_t dim, index::Metric metric, GpuSearchPolicy gpu)
    : dim_(dim), metric_(metric), flat_(dim, metric) {
  if (gpu.enabled) gpu_ = std::make_unique<GpuFlatMirror>(dim, metric, gpu);
}

absl::Status GrowingSegment::add(uint64_t label, const PointId& id, std::span<const float> vector) {
  if (auto s = flat_.add(label, vector); !s.ok()) return s;
  if (gpu_ != nullptr) gpu_->invalidate();
  auto [it, inserted] = position_.try_emplace(label, labels_.size());
  if (inserted) {
    labels_.push_back(label);
    ids_.push_back(id);
  } else {
    ids_[it->second] = id;
  }
  return absl::OkStatus();
}

bool GrowingSegment::remove(uint64_t label) {
  auto it = position_.find(label);
  if (it == position_.end()) return false;
  flat_.remove(label);
  if (gpu_ != nullptr) gpu_->invalidate();
  const size_t pos = it->second;
  position_.erase(it);
  if (pos + 1 != labels_.size()) {
    labels_[pos] = labels_.back();
    ids_[pos] = std::move(ids_.back());
    position_[labels_[pos]] = pos;
  }
  labels_.pop_back();
  ids_.pop_back();
  return true;
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> GrowingSegment::search(
    std::span<const float> queries, size_t k, const index::LabelFilter* filter) const {
  if (filter == nullptr && gpu_ != nullptr) {
    auto on_gpu = gpu_->search(queries, k, labels_.size(), [this](auto& labels, auto& vectors) {
      labels = labels_;
      vectors.reserve(labels_.size() * dim_);
      for (uint64_t label : labels_) {
        std::span<const float> v = flat_.vector_of(label);
        vectors.insert(vectors.end(), v.begin(), v.end());
      }
    });
    if (on_gpu.has_value()) return std::move(*on_gpu);
  }
  if (filter == nullptr) return flat_.search(queries, k);
  std::vector<uint64_t> accepted;
  std::vector<float> rows;
  for (uint64_t label : labels_) {
    if (!filter->accepts(label)) continue;
    accepted.push_back(label);
    std::span<const float> v = flat_.vector_of(label);
    rows.insert(rows.end(), v.begin(), v.end());
  }
  return scan_top_k(metric_, dim_, queries, k, accepted, rows, nullptr);
}

std::shared_ptr<const SegmentRows> GrowingSegment::take_rows() {
  if (gpu_ != nullptr) gpu_->invalidate();
  auto rows = std::make_shared<SegmentRows>();
  rows->labels = std::move(labels_);
  rows->ids = std::move(ids_);
  rows->vectors.reserve(rows->labels.size() * dim_);
  for (uint64_t label : rows->labels) {
    std::span<const float> v = flat_.vector_of(label);
    rows->vectors.insert(rows->vectors.end(), v.begin(), v.end());
  }
  labels_.clear();
  ids_.clear();
  position_.clear();
  flat_ = index::FlatIndex(dim_, metric_);
  return rows;
}

}  // namespace meridian::node
