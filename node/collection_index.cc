// A collection's segmented index: the published segment set, the builder's steps (pick, build,
// publish, save) and the merged search; see collection_index.h. Loading at start is in
// collection_index_load.cc.
#include "node/collection_index.h"

#include <algorithm>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "index/vector_check.h"
#include "node/filtered_scan.h"
#include "node/log.h"

namespace meridian::node {
namespace {

// Accepts the labels a slot still holds live that the caller's filter (may be null) accepts.
class LiveFilter final : public index::LabelFilter {
 public:
  LiveFilter(const absl::flat_hash_set<uint64_t>& deleted, const index::LabelFilter* filter)
      : deleted_(deleted), filter_(filter) {}
  bool accepts(uint64_t label) const override {
    return !deleted_.contains(label) && (filter_ == nullptr || filter_->accepts(label));
  }

 private:
  const absl::flat_hash_set<uint64_t>& deleted_;
  const index::LabelFilter* filter_;
};

void remove_file(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::remove(path, error);
}

}  // namespace

struct CollectionIndex::Job {
  enum class Type { kBuild, kSave };
  Type type = Type::kBuild;
  // kBuild: the input slots (seal: one frozen slot; compaction: one slot; merge: two), each with
  // the deletions it had when picked (those rows are left out of the build).
  struct Source {
    uint64_t seq = 0;
    std::shared_ptr<const Segment> segment;
    absl::flat_hash_set<uint64_t> deleted;
  };
  std::vector<Source> sources;
  // kSave: the slot to write.
  uint64_t seq = 0;
  std::shared_ptr<const Segment> segment;
};

CollectionIndex::CollectionIndex(const CollectionConfig& config, SegmentOptions options)
    : spec_(SegmentSpec::of(config)),
      policy_(config),
      options_(std::move(options)),
      growing_(config.dim, index_metric(config.metric),
               spec_.kind == IndexKind::kFlat ? options_.gpu : GpuSearchPolicy{}),
      builder_([this] { return step(); }) {}

CollectionIndex::~CollectionIndex() = default;

absl::Status CollectionIndex::add(uint64_t label, const PointId& id,
                                  std::span<const float> vector) {
  // Checked before the old version is removed, so a rejected vector changes nothing.
  if (auto s = index::check_vector(vector, spec_.dim); !s.ok()) return s;
  std::lock_guard<std::shared_mutex> lock(mu_);
  remove_locked(label);
  if (auto s = growing_.add(label, id, vector); !s.ok()) return s;
  ++live_;
  schedule_locked();
  return absl::OkStatus();
}

bool CollectionIndex::remove(uint64_t label) {
  std::lock_guard<std::shared_mutex> lock(mu_);
  if (!remove_locked(label)) return false;
  schedule_locked();
  return true;
}

bool CollectionIndex::remove_locked(uint64_t label) {
  if (growing_.remove(label)) {
    --live_;
    return true;
  }
  // At most one segment holds a label live: the newest that contains it unmasked.
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    if (it->segment->contains(label) && !it->deleted.contains(label)) {
      it->deleted.insert(label);
      --live_;
      return true;
    }
  }
  return false;
}

size_t CollectionIndex::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return live_;
}

void CollectionIndex::schedule_locked() {
  if (growing_.size() >= policy_.seal_trigger()) {
    // Freeze: the rows move into an exact segment (searched as before) and the builder seals
    // them; new points go to a fresh growing segment meanwhile.
    Slot slot;
    slot.segment =
        std::make_shared<const ExactSegment>(spec_.dim, spec_.metric, growing_.take_rows());
    slot.seq = next_seq_++;
    slot.frozen = true;
    slots_.push_back(std::move(slot));
  }
  if (has_work_locked()) builder_.wake();
}

bool CollectionIndex::has_work_locked() const {
  std::vector<SealedSummary> sealed;
  for (const Slot& s : slots_) {
    if (s.busy) continue;
    if (s.live() == 0 || (s.frozen && !s.failed) || s.needs_save) return true;
    if (!s.frozen) sealed.push_back({s.segment->rows(), s.masked(), s.failed});
  }
  return policy_.next_rebuild(sealed).has_value();
}

CollectionIndex::Slot* CollectionIndex::slot_with_seq(uint64_t seq) {
  for (Slot& s : slots_) {
    if (s.seq == seq) return &s;
  }
  return nullptr;
}

std::optional<CollectionIndex::Job> CollectionIndex::pick_job_locked() {
  // Segments whose every row is deleted need no build: they just go.
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (!it->busy && it->live() == 0) {
      if (it->has_file) remove_file(options_.files.path_of(it->seq));
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
  auto build_of = [&](std::vector<Slot*> inputs) {
    Job job;
    job.type = Job::Type::kBuild;
    for (Slot* s : inputs) {
      s->busy = true;
      job.sources.push_back({s->seq, s->segment, s->deleted});
    }
    return job;
  };
  for (Slot& s : slots_) {
    if (s.frozen && !s.busy && !s.failed) return build_of({&s});
  }
  for (Slot& s : slots_) {
    if (s.needs_save && !s.busy) {
      s.busy = true;
      Job job;
      job.type = Job::Type::kSave;
      job.seq = s.seq;
      job.segment = s.segment;
      return job;
    }
  }
  std::vector<Slot*> candidates;
  std::vector<SealedSummary> sealed;
  for (Slot& s : slots_) {
    if (s.frozen) continue;
    candidates.push_back(&s);
    sealed.push_back({s.segment->rows(), s.masked(), s.busy || s.failed});
  }
  auto rebuild = policy_.next_rebuild(sealed);
  if (!rebuild) return std::nullopt;
  std::vector<Slot*> inputs;
  for (size_t i : *rebuild) inputs.push_back(candidates[i]);
  return build_of(std::move(inputs));
}

bool CollectionIndex::step() {
  std::optional<Job> job;
  {
    std::lock_guard<std::shared_mutex> lock(mu_);
    job = pick_job_locked();
  }
  if (!job) return false;
  if (job->type == Job::Type::kSave) {
    run_save(*job);
  } else {
    run_build(*job);
  }
  return true;
}

void CollectionIndex::run_build(Job& job) {
  // The inputs never change and the deletions were copied when the job was picked, so the rows
  // are gathered without the lock.
  auto rows = std::make_shared<SegmentRows>();
  for (const Job::Source& source : job.sources) {
    const Segment& segment = *source.segment;
    for (size_t row = 0; row < segment.rows(); ++row) {
      const uint64_t label = segment.labels()[row];
      if (label == kDeadRow || source.deleted.contains(label)) continue;
      rows->labels.push_back(label);
      rows->ids.push_back(segment.ids()[row]);
      std::span<const float> v = segment.vector_at(static_cast<uint32_t>(row));
      rows->vectors.insert(rows->vectors.end(), v.begin(), v.end());
    }
  }
  absl::StatusOr<std::shared_ptr<const Segment>> built =
      rows->size() == 0 ? nullptr
                        : build_sealed_segment(spec_, std::move(rows), options_.build_threads);
  if (!built.ok()) {
    log_error(absl::StrCat("collection '", options_.files.collection,
                           "': a segment build failed; its points stay searchable exactly: ",
                           built.status().ToString()));
    std::lock_guard<std::shared_mutex> lock(mu_);
    for (const Job::Source& source : job.sources) {
      if (Slot* s = slot_with_seq(source.seq)) {
        s->busy = false;
        s->failed = true;
      }
    }
    return;
  }
  if (options_.before_publish) options_.before_publish();

  std::vector<std::filesystem::path> superseded;
  {
    std::lock_guard<std::shared_mutex> lock(mu_);
    Slot published;
    published.segment = *built;
    published.seq = next_seq_++;
    published.needs_save = *built != nullptr && options_.files.enabled();
    size_t position = slots_.size();
    for (const Job::Source& source : job.sources) {
      auto it = std::find_if(slots_.begin(), slots_.end(),
                             [&](const Slot& s) { return s.seq == source.seq; });
      if (it == slots_.end()) continue;  // cannot happen: busy slots stay until published
      // Deletes that arrived during the build: the new segment must mask them before anyone
      // can search it. (Labels deleted before the build are not in it at all.)
      if (published.segment != nullptr) {
        for (uint64_t label : it->deleted) {
          if (published.segment->contains(label)) published.deleted.insert(label);
        }
      }
      if (it->has_file) superseded.push_back(options_.files.path_of(it->seq));
      position = std::min(position, static_cast<size_t>(it - slots_.begin()));
      slots_.erase(it);
      position = std::min(position, slots_.size());
    }
    // Live points are unchanged: the new segment holds exactly the inputs' live rows.
    if (published.segment != nullptr) {
      slots_.insert(slots_.begin() + static_cast<ptrdiff_t>(position), std::move(published));
    }
    ++counters_.builds;
  }
  // The inputs' files go once nothing refers to them; a crash before the new segment's file is
  // written leaves its points to be rebuilt (or the old files to be reloaded) at start.
  for (const auto& path : superseded) remove_file(path);
}

void CollectionIndex::run_save(Job& job) {
  absl::Status saved = write_segment_file(options_.files, job.seq, *job.segment);
  if (!saved.ok()) {
    log_warning(absl::StrCat("collection '", options_.files.collection,
                             "': cannot write a segment file (the segment is rebuilt from the "
                             "points at the next start): ",
                             saved.ToString()));
  }
  std::lock_guard<std::shared_mutex> lock(mu_);
  if (Slot* s = slot_with_seq(job.seq)) {
    s->busy = false;
    s->needs_save = false;
    s->has_file = saved.ok();
  }
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> CollectionIndex::search(
    std::span<const float> queries, size_t k, uint32_t ef, uint32_t nprobe,
    const index::LabelFilter* filter, double filter_fraction) const {
  if (spec_.dim == 0 || queries.size() % spec_.dim != 0) {
    return absl::InvalidArgumentError("queries are not a whole number of vectors");
  }
  const size_t nq = queries.size() / spec_.dim;
  const SegmentKnobs knobs{ef, nprobe, filter == nullptr ? 1.0 : filter_fraction};
  // Shared: every segment's search is const and keeps its scratch per call (HNSW: a pool under
  // its own mutex), and writers (add, remove, publish) take the lock exclusively.
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (slots_.empty()) return growing_.search(queries, k, filter);
  std::vector<index::TopK> tops(nq, index::TopK(k, index::higher_is_better(spec_.metric)));
  auto merge = [&](const std::vector<std::vector<index::Neighbor>>& lists) {
    for (size_t q = 0; q < nq && q < lists.size(); ++q) {
      for (const index::Neighbor& n : lists[q]) tops[q].push(n.label, n.score);
    }
  };
  if (growing_.size() > 0) {
    auto lists = growing_.search(queries, k, filter);
    if (!lists.ok()) return lists.status();
    merge(*lists);
  }
  for (const Slot& slot : slots_) {
    LiveFilter live(slot.deleted, filter);
    const bool unfiltered = slot.deleted.empty() && filter == nullptr;
    auto lists = slot.segment->search(queries, k, knobs, unfiltered ? nullptr : &live);
    if (!lists.ok()) return lists.status();
    merge(*lists);
  }
  std::vector<std::vector<index::Neighbor>> out(nq);
  for (size_t q = 0; q < nq; ++q) tops[q].take_sorted(out[q]);
  return out;
}

std::vector<std::vector<index::Neighbor>> CollectionIndex::exact_search(
    std::span<const float> queries, size_t k, std::span<const uint64_t> labels) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto vector_at = [&](size_t i) -> std::span<const float> {
    const uint64_t label = labels[i];
    std::span<const float> v = growing_.vector_of(label);
    if (!v.empty()) return v;
    for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
      if (it->deleted.contains(label)) continue;
      v = it->segment->vector_of(label);
      if (!v.empty()) return v;
    }
    return {};
  };
  return exact_top_k(spec_.metric, spec_.dim, queries, k, labels, vector_at);
}

std::vector<float> CollectionIndex::vector_of(uint64_t label) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::span<const float> v = growing_.vector_of(label);
  if (v.empty()) {
    for (auto it = slots_.rbegin(); it != slots_.rend() && v.empty(); ++it) {
      if (!it->deleted.contains(label)) v = it->segment->vector_of(label);
    }
  }
  return std::vector<float>(v.begin(), v.end());
}

SegmentStats CollectionIndex::stats() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  SegmentStats out = counters_;
  out.growing_points = growing_.size();
  for (const Slot& s : slots_) {
    if (s.frozen) {
      ++out.pending_segments;
    } else {
      ++out.sealed_segments;
      out.sealed_points += s.live();
    }
  }
  out.build_pending = builder_.busy();
  return out;
}

bool CollectionIndex::wait_for_builds(std::chrono::steady_clock::duration timeout) {
  return builder_.wait_idle(timeout);
}

}  // namespace meridian::node
