// CollectionIndex::load: a collection's index at start, from its segment files where they still
// match the stored points and from the points themselves for the rest; see collection_index.h.
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "index/distance.h"
#include "node/collection_index.h"
#include "node/log.h"

namespace meridian::node {
namespace {

// Whether `stored` (a segment row, as the index keeps it) is the point vector `raw`. Under
// cosine both are compared at unit length, with a tolerance for the rounding of normalising
// again at each rebuild; other metrics store vectors unchanged, so they must be equal.
bool same_vector(std::span<const float> stored, std::span<const float> raw, index::Metric metric) {
  if (stored.size() != raw.size()) return false;
  if (metric != index::Metric::kCosine) {
    return std::equal(stored.begin(), stored.end(), raw.begin());
  }
  const double norm = index::norm(raw);
  if (!(norm > 0)) return false;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (std::abs(static_cast<double>(stored[i]) - raw[i] / norm) > 1e-6) return false;
  }
  return true;
}

}  // namespace

void CollectionIndex::load_files(std::span<const uint64_t> labels, std::span<const PointId> ids,
                                 std::span<const float> vectors, std::vector<bool>& claimed) {
  const std::vector<SegmentFileName> found = list_segment_files(options_.files);
  if (found.empty()) return;
  absl::flat_hash_map<PointId, size_t> point_of;
  point_of.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) point_of.emplace(ids[i], i);
  const std::string& name = options_.files.collection;
  // Newest first: after a crash between a merge's new file and the removal of its inputs' files,
  // the newer file claims the points and the older ones keep only dead rows.
  for (const SegmentFileName& file : found) {
    next_seq_ = std::max(next_seq_, file.seq + 1);
    auto contents = read_segment_file(options_.files, file.seq, spec_);
    if (!contents.ok()) {
      ++counters_.rejected_files;
      log_warning(absl::StrCat("collection '", name, "': segment file ", file.path.string(),
                               " is unusable, its points are indexed again from the stored "
                               "points: ",
                               contents.status().ToString()));
      std::error_code error;
      std::filesystem::remove(file.path, error);
      continue;
    }
    const size_t rows = contents->ids.size();
    std::vector<uint64_t> row_labels(rows, kDeadRow);
    size_t live = 0;
    for (size_t r = 0; r < rows; ++r) {
      auto it = point_of.find(contents->ids[r]);
      if (it == point_of.end() || claimed[it->second]) continue;
      const size_t i = it->second;
      if (!same_vector(contents->vector_at(static_cast<uint32_t>(r)),
                       vectors.subspan(i * spec_.dim, spec_.dim), spec_.metric)) {
        continue;  // re-upserted with another vector while the file was not rewritten
      }
      claimed[i] = true;
      row_labels[r] = labels[i];
      ++live;
    }
    if (live == 0) {
      std::error_code error;
      std::filesystem::remove(file.path, error);
      continue;
    }
    Slot slot;
    slot.segment = std::move(*contents).into_segment(std::move(row_labels));
    slot.seq = file.seq;
    slot.has_file = true;
    live_ += live;
    ++counters_.loaded_segments;
    slots_.insert(slots_.begin(), std::move(slot));  // keep oldest first
  }
}

absl::Status CollectionIndex::load(std::span<const uint64_t> labels, std::span<const PointId> ids,
                                   std::span<const float> vectors, size_t threads) {
  const size_t n = labels.size();
  if (ids.size() != n || vectors.size() != n * spec_.dim) {
    return absl::InvalidArgumentError("labels, ids and vectors of different lengths");
  }
  std::lock_guard<std::shared_mutex> lock(mu_);
  std::vector<bool> claimed(n, false);
  if (approximate() && options_.files.enabled()) load_files(labels, ids, vectors, claimed);
  size_t remaining = 0;
  for (size_t i = 0; i < n; ++i) remaining += claimed[i] ? 0 : 1;
  if (approximate() && remaining >= policy_.seal_trigger()) {
    // Built here rather than in the background: searching this many points exactly until a
    // background build finished would be slower than the wait.
    auto rows = std::make_shared<SegmentRows>();
    rows->labels.reserve(remaining);
    rows->ids.reserve(remaining);
    rows->vectors.reserve(remaining * spec_.dim);
    for (size_t i = 0; i < n; ++i) {
      if (claimed[i]) continue;
      rows->labels.push_back(labels[i]);
      rows->ids.push_back(ids[i]);
      std::span<const float> v = vectors.subspan(i * spec_.dim, spec_.dim);
      if (auto s = index::check_vector(v, spec_.dim); !s.ok()) return s;
      const size_t at = rows->vectors.size();
      rows->vectors.insert(rows->vectors.end(), v.begin(), v.end());
      if (spec_.metric == index::Metric::kCosine) {
        index::normalize_in_place(std::span<float>(rows->vectors).subspan(at, spec_.dim));
      }
    }
    if (options_.files.enabled()) {
      log_info(absl::StrCat("collection '", options_.files.collection, "': ", remaining,
                            " points have no usable segment file; building a ",
                            std::string(index_kind_name(spec_.kind)),
                            " segment from the stored points"));
    }
    auto built = build_sealed_segment(spec_, std::move(rows), threads);
    if (!built.ok()) return built.status();
    Slot slot;
    slot.segment = *std::move(built);
    slot.seq = next_seq_++;
    slot.needs_save = options_.files.enabled();
    slots_.push_back(std::move(slot));
    live_ += remaining;
    ++counters_.built_at_start;
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (claimed[i]) continue;
      std::span<const float> v = vectors.subspan(i * spec_.dim, spec_.dim);
      if (auto s = growing_.add(labels[i], ids[i], v); !s.ok()) return s;
      ++live_;
    }
  }
  schedule_locked();
  return absl::OkStatus();
}

}  // namespace meridian::node
