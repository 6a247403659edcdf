// The vector index of one collection, made of segments (docs/segments.md): an exact growing
// segment that takes new points immediately, and sealed segments built with the collection's
// index kind (HNSW, IVF-Flat) by a background builder, which seals the growing segment when it
// is full, rebuilds sealed segments without their deleted points and merges small ones. Searches
// run over every segment and merge their top-k; a build publishes its segment by swapping it in
// under the index's lock, so a search sees the old segments or the new one, never a half-built
// one. Sealed segments are persisted to segment files and reloaded at start when configured.
// Labels are the node's dense point labels.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "index/hnsw_index.h"
#include "node/growing_segment.h"
#include "node/sealed_segment.h"
#include "node/segment.h"
#include "node/segment_builder.h"
#include "node/segment_file.h"
#include "node/segment_policy.h"
#include "schema/types.h"

namespace meridian::node {

// How a collection's segments are built and kept.
struct SegmentOptions {
  // Where sealed segments are persisted (files.dir empty: they are not, and a start rebuilds
  // them from the points).
  SegmentFiles files;
  // Worker threads of one HNSW build.
  size_t build_threads = 2;
  // Test hook: runs on the builder thread after a segment is built and before it is published
  // (a test can hold a build there while it writes and searches). May be empty.
  std::function<void()> before_publish;
  // Whether a flat collection's batched exact searches may run on the GPU (the daemon's --gpu;
  // approximate kinds ignore it).
  GpuSearchPolicy gpu;
};

// A snapshot of a collection's segments (CollectionInfo.segments).
struct SegmentStats {
  uint64_t growing_points = 0;
  uint32_t sealed_segments = 0;   // built with the collection's kind
  uint64_t sealed_points = 0;     // live points in them
  uint32_t pending_segments = 0;  // frozen growing segments waiting for their build
  bool build_pending = false;     // the builder has work running or queued
  uint64_t builds = 0;            // background builds published since the index was made
  uint64_t loaded_segments = 0;   // sealed segments loaded from files by load()
  uint64_t built_at_start = 0;    // sealed segments built from the points by load()
  uint64_t rejected_files = 0;    // segment files load() could not use (logged)
};

// Thread safety: every method may be called from any thread. One reader-writer lock: searches,
// exact_search, vector_of, size and stats share it (searches of one collection run in parallel);
// add, remove and load take it exclusively. The builder thread takes it exclusively only to pick
// its work and to publish; an index build itself runs without it.
class CollectionIndex {
 public:
  explicit CollectionIndex(const CollectionConfig& config, SegmentOptions options = {});
  // Waits for a build in progress (see SegmentBuilder).
  ~CollectionIndex();
  CollectionIndex(const CollectionIndex&) = delete;
  CollectionIndex& operator=(const CollectionIndex&) = delete;

  // Makes `vector` the point `label` (id `id`), searchable when this returns; an older vector of
  // the label stops being returned. InvalidArgument for a vector the index rejects (nothing is
  // changed then).
  absl::Status add(uint64_t label, const PointId& id, std::span<const float> vector);
  // Fills an empty index with a collection's stored points at start (n = labels.size() points,
  // row-major vectors): reuses the segment files whose rows still match the points, builds a
  // sealed segment from the remaining points when they fill one (HNSW with `threads` workers),
  // else puts them in the growing segment. Files it cannot use are logged and deleted. Errors of
  // the points themselves (a vector the index rejects) fail it.
  absl::Status load(std::span<const uint64_t> labels, std::span<const PointId> ids,
                    std::span<const float> vectors, size_t threads);
  // False when `label` is not a live point. Never returned by a search once this returns.
  bool remove(uint64_t label);
  size_t size() const;

  // Scores as index::FlatIndex (l2: squared distance; cosine and dot: similarity), best first,
  // at most k per query, merged over every segment. `ef` (HNSW beam width) and `nprobe` (IVF
  // lists scanned per segment) apply to sealed segments (0: their default); exact segments
  // ignore them. `filter` (may be null) restricts the results to the labels it accepts; it is
  // applied during the HNSW traversal and the IVF list scans. `filter_fraction` (in (0, 1]) is
  // the share of the points it accepts: with nprobe = 0, IVF segments scan their default nprobe
  // divided by it (at most every list), so a filter does not cost recall.
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> search(
      std::span<const float> queries, size_t k, uint32_t ef, uint32_t nprobe,
      const index::LabelFilter* filter = nullptr, double filter_fraction = 1.0) const;
  // Exact top-k of `queries` among the given live labels (absent ones are skipped): the planner's
  // choice for very selective filters (filtered_scan.h).
  std::vector<std::vector<index::Neighbor>> exact_search(std::span<const float> queries, size_t k,
                                                         std::span<const uint64_t> labels) const;

  // True for HNSW and IVF-Flat collections, false for flat (exact) ones.
  bool approximate() const { return spec_.kind != IndexKind::kFlat; }
  IndexKind kind() const { return spec_.kind; }
  index::Metric metric() const { return spec_.metric; }
  uint32_t dim() const { return spec_.dim; }
  // A copy of the stored vector of `label` (normalised under cosine); empty when absent.
  std::vector<float> vector_of(uint64_t label) const;

  SegmentStats stats() const;
  // Blocks until the builder has nothing to do, or `timeout` passes; true when idle.
  bool wait_for_builds(std::chrono::steady_clock::duration timeout);
  // The options' segment files (the node removes them when the collection is dropped).
  const SegmentFiles& files() const { return options_.files; }

 private:
  // One segment in the published set, with the deletions applied to it since it was made.
  struct Slot {
    std::shared_ptr<const Segment> segment;
    absl::flat_hash_set<uint64_t> deleted;  // labels of rows deleted since
    uint64_t seq = 0;                       // segment number (its file name when persisted)
    bool frozen = false;                    // an exact segment waiting to be sealed
    bool busy = false;                      // an input of the build in flight, or being saved
    bool failed = false;                    // its build failed: not tried again
    bool has_file = false;
    bool needs_save = false;
    size_t masked() const { return deleted.size() + segment->dead_rows(); }
    size_t live() const { return segment->rows() - masked(); }
  };
  // The work the builder picked: the input slots (by seq) and the rows it reads.
  struct Job;

  bool remove_locked(uint64_t label);
  // Freezes a full growing segment and wakes the builder when there is work.
  void schedule_locked();
  bool has_work_locked() const;
  // The next piece of builder work, its inputs marked busy; nullopt when there is none.
  std::optional<Job> pick_job_locked();
  // One builder step (SegmentBuilder's step): picks, builds or saves, publishes.
  bool step();
  void run_build(Job& job);
  void run_save(Job& job);
  Slot* slot_with_seq(uint64_t seq);
  // Loads the segment files at start; `claimed[i]` is set for input point i once a file's row
  // holds it. Returns the slots made.
  void load_files(std::span<const uint64_t> labels, std::span<const PointId> ids,
                  std::span<const float> vectors, std::vector<bool>& claimed);

  const SegmentSpec spec_;
  const SegmentPolicy policy_;
  const SegmentOptions options_;

  mutable std::shared_mutex mu_;
  GrowingSegment growing_;   // guarded by mu_
  std::vector<Slot> slots_;  // guarded by mu_; oldest first
  size_t live_ = 0;          // guarded by mu_; live points over all segments
  uint64_t next_seq_ = 1;    // guarded by mu_
  SegmentStats counters_;    // guarded by mu_; builds, loaded_segments, ...

  // Last: destroyed (joined) first, while everything its steps touch still exists.
  SegmentBuilder builder_;
};

}  // namespace meridian::node
