// Segment sealing, compaction and merge decisions; see segment_policy.h.
#include "node/segment_policy.h"

#include <algorithm>
#include <limits>
#include <map>

namespace meridian::node {

SegmentPolicy::SegmentPolicy(const CollectionConfig& config)
    : seal_points_(std::max<size_t>(config.segment_seal_points, 1)),
      rebuild_deleted_percent_(config.segment_rebuild_deleted_percent) {
  switch (config.index_kind) {
    case IndexKind::kFlat:
      seal_trigger_ = std::numeric_limits<size_t>::max();
      break;
    case IndexKind::kHnsw:
      seal_trigger_ = seal_points_;
      break;
    case IndexKind::kIvfFlat:
    case IndexKind::kIvfPq:
      seal_trigger_ = std::max<size_t>(seal_points_, size_t{39} * config.ivf_nlist);
      break;
  }
}

bool SegmentPolicy::needs_compaction(const SealedSummary& s) const {
  // masked / rows > percent / 100, in integers.
  return s.masked > 0 && s.masked * 100 > s.rows * rebuild_deleted_percent_;
}

uint32_t SegmentPolicy::tier(size_t live) const {
  uint32_t t = 0;
  for (size_t size = live / seal_points_; size > 1; size >>= 1) ++t;
  return t;
}

std::optional<std::vector<size_t>> SegmentPolicy::next_rebuild(
    std::span<const SealedSummary> sealed) const {
  for (size_t i = 0; i < sealed.size(); ++i) {
    if (!sealed[i].busy && needs_compaction(sealed[i])) return std::vector<size_t>{i};
  }
  std::map<uint32_t, size_t> first_of_tier;
  std::optional<std::vector<size_t>> best;
  uint32_t best_tier = std::numeric_limits<uint32_t>::max();
  for (size_t i = 0; i < sealed.size(); ++i) {
    if (sealed[i].busy) continue;
    const uint32_t t = tier(sealed[i].rows - sealed[i].masked);
    auto [it, inserted] = first_of_tier.try_emplace(t, i);
    if (!inserted && t < best_tier) {
      best_tier = t;
      best = std::vector<size_t>{it->second, i};
    }
  }
  return best;
}

}  // namespace meridian::node
