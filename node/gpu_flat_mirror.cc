// The lazily refreshed GPU copy of a growing segment; see gpu_flat_mirror.h.
#include "node/gpu_flat_mirror.h"

#include "absl/strings/str_cat.h"
#include "node/log.h"

namespace meridian::node {

GpuFlatMirror::GpuFlatMirror(uint32_t dim, index::Metric metric, GpuSearchPolicy policy)
    : dim_(dim), metric_(metric), policy_(policy) {}

GpuFlatMirror::~GpuFlatMirror() = default;

std::optional<std::vector<std::vector<index::Neighbor>>> GpuFlatMirror::search(
    std::span<const float> queries, size_t k, size_t points, Snapshot snapshot) {
  if (!policy_.enabled || dim_ == 0) return std::nullopt;
  if (queries.size() / dim_ < policy_.min_queries || points < policy_.min_points) {
    return std::nullopt;
  }
  if (k == 0 || k > index::kGpuMaxK) return std::nullopt;
  std::lock_guard<std::mutex> guard(mu_);
  if (failed_) return std::nullopt;
  // A device error is not the request's fault: the CPU answers it, and this collection stays on
  // the CPU (one line in the log rather than one per search).
  auto give_up = [&](const absl::Status& status) {
    failed_ = true;
    searcher_.reset();
    log_warning(absl::StrCat("gpu: ", status.ToString(), "; this collection searches on the CPU"));
  };
  if (stale_ || searcher_ == nullptr) {
    searcher_.reset();  // frees the old copy's device memory before the new one is made
    std::vector<uint64_t> labels;
    std::vector<float> vectors;
    snapshot(labels, vectors);
    auto made = index::GpuFlatSearcher::create(dim_, metric_, labels, vectors);
    if (!made.ok()) {
      give_up(made.status());
      return std::nullopt;
    }
    searcher_ = std::move(*made);
    stale_ = false;
  }
  auto result = searcher_->search(queries, k);
  if (!result.ok()) {
    // Bad queries: the CPU path gives the caller its usual error.
    if (result.status().code() != absl::StatusCode::kInvalidArgument) give_up(result.status());
    return std::nullopt;
  }
  ++gpu_searches_;
  return std::move(*result);
}

}  // namespace meridian::node
