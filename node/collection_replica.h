// One collection's CRDT replica on this node: every write goes through crdt::PointReplica, is
// logged, and is committed with the materialised winners in one store transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crdt/delta_log.h"
#include "crdt/hlc.h"
#include "crdt/point_replica.h"
#include "storage/store.h"

namespace meridian::node {

// Clock and randomness for replicas, injected so tests can control them.
struct ReplicaEnv {
  std::function<uint64_t()> mint_replica_id;    // a fresh random non-zero 64-bit id
  std::function<uint64_t()> physical_clock_ms;  // wall-clock milliseconds
  crdt::HlcOptions hlc;
};

// The outcome of one committed write.
struct ReplicaWrite {
  uint32_t applied = 0;                        // ids the write changed
  std::vector<storage::PointRecord> upserted;  // winners of touched ids that exist now
  std::vector<PointId> removed;                // touched ids that no longer exist
  std::string causal_token;                    // encoded version vector after the write
  int64_t stored_bytes_delta = 0;              // change of the `points` view bytes
};

enum class PayloadUpdate { kMerge, kOverwrite };

// Not thread-safe: the node serialises calls under its lock. Every write either commits (state,
// log, clock bound and view, atomically) or changes nothing durable; after a failed commit the
// in-memory replica is reloaded from the store so memory never runs ahead of disk.
class CollectionReplica {
 public:
  using CorruptVisitor = storage::Store::CorruptVisitor;

  // Loads the replica from the store's `crdt` and `causal` databases. When the collection has no
  // (readable) causal record, mints a fresh replica id (never reusing dots of an older copy),
  // persists it, and imports the points of the `points` view if the CRDT state is empty (a
  // collection from before the CRDT). Slices that fail to open or decode go to `on_corrupt`.
  static absl::StatusOr<std::unique_ptr<CollectionReplica>> load(storage::Store& store,
                                                                 uint32_t collection_id,
                                                                 const ReplicaEnv& env,
                                                                 const CorruptVisitor& on_corrupt);

  // Upserts validated points (payloads normalised): each payload's top-level fields become
  // registers. Later duplicates of an id in one batch win.
  absl::StatusOr<ReplicaWrite> upsert(std::span<const storage::PointRecord> points);
  // Observed remove; ids that hold nothing here are skipped.
  absl::StatusOr<ReplicaWrite> remove(std::span<const PointId> ids);
  // Writes `fields` into each existing point (merged, or replacing all fields); missing ids are
  // skipped.
  absl::StatusOr<ReplicaWrite> update_payload(std::span<const PointId> ids,
                                              const crdt::PayloadFields& fields, PayloadUpdate how);
  absl::StatusOr<ReplicaWrite> delete_payload_keys(std::span<const PointId> ids,
                                                   const std::vector<std::string>& keys);

  // True iff the state includes every write `token` (a decoded causal token) names.
  bool dominates(const crdt::VersionVector& token) const;
  std::string causal_token() const;
  // Hex of the canonical digest of the state.
  std::string digest_hex() const;
  crdt::ReplicaId replica_id() const { return replica_.id(); }
  const crdt::PointSet& state() const { return replica_.state(); }

 private:
  CollectionReplica(storage::Store& store, uint32_t collection_id, const ReplicaEnv& env,
                    crdt::PointReplica replica, uint64_t hlc_bound_ms, uint64_t next_seq);
  // The replica's state as stored: its causal record (nullopt when absent or unreadable) and the
  // state assembled from its slices and context.
  struct Loaded {
    std::optional<storage::CausalRecord> causal;
    crdt::PointSet state;
    size_t slices = 0;
  };
  static absl::StatusOr<Loaded> read_state(const storage::Store& store, uint32_t collection_id,
                                           const CorruptVisitor& on_corrupt);
  crdt::HlcTimestamp now();
  // Joins `deltas`, logs and compacts, and commits the touched ids' slices and winners.
  absl::StatusOr<ReplicaWrite> commit(std::vector<crdt::PointSet> deltas,
                                      const std::vector<crdt::PointId>& touched);
  // Restores memory from the store after a failed commit.
  absl::Status reload();

  storage::Store& store_;
  uint32_t collection_id_;
  ReplicaEnv env_;
  crdt::HlcStats hlc_stats_;
  crdt::PointReplica replica_;
  crdt::HybridLogicalClock clock_;
  crdt::DeltaLog log_;
};

}  // namespace meridian::node
