// One collection's CRDT replica on this node: every write (local, or a delta received from a peer
// replica) goes through crdt::PointReplica, is logged, and is committed with the materialised
// winners in one store transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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
  // Keep delta-log entries until the replication layer (which registers peers in log() and
  // compacts it after their acknowledgements) drops them. False (a single node): every entry is
  // compacted as soon as it is committed, since no peer will ever ask for it.
  bool retain_delta_log = false;
};

// The outcome of one committed write.
struct ReplicaWrite {
  uint32_t applied = 0;                        // ids the write changed
  std::vector<storage::PointRecord> upserted;  // winners of touched ids that exist now
  std::vector<PointId> removed;                // touched ids that no longer exist
  std::string causal_token;                    // encoded version vector after the write
  int64_t stored_bytes_delta = 0;              // change of the `points` view bytes
  uint64_t log_seq = 0;  // seq of the delta-log entry the write appended (0: none)
};

enum class PayloadUpdate { kMerge, kOverwrite };

// Not thread-safe: the node serialises calls under its lock. Every write either commits (state,
// log, clock bound and view, atomically) or changes nothing durable; after a failed commit the
// in-memory replica is reloaded from the store so memory never runs ahead of disk.
//
// The delta log: entries are appended to log() (and to the store's `log` database) only once
// their commit succeeded. With env.retain_delta_log the log keeps them until its owner (the
// replicator) compacts; compacted entries are removed from the store by the next commit or by
// trim_log(). At load the stored entries are read back, so un-acknowledged deltas survive a
// restart and peers resume from them instead of needing a full state.
class CollectionReplica {
 public:
  using CorruptVisitor = storage::Store::CorruptVisitor;

  // Loads the replica from the store's `crdt` and `causal` databases, its delta log from `log` and
  // its joined-through marks from `joined`. When the collection has no (readable) causal record,
  // mints a fresh replica id (never reusing dots of an older copy), drops stored log entries (they
  // are numbered in the old replica's log), persists the id, and imports the points of the
  // `points` view if the CRDT state is empty (a collection from before the CRDT). Slices, log
  // entries and joined-through records that fail to open or decode go to `on_corrupt` (a lost
  // log entry or mark only costs peers a resend or a full state).
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

  // Joins `delta`, received from replica `peer`, in one store transaction with: the slices, the
  // `points` view and the causal record of the ids it changed; the delta as a log entry when it
  // changed the state (so it is forwarded to other peers); and, when `peer_seq` is above
  // joined_through(peer), the new joined-through record. Nothing is written when none of that
  // changes. The result lists exactly the ids whose stored record changed (payload-only changes
  // and observed deletes included). InvalidArgument (nothing applied) when the delta holds a
  // point id this node cannot map or a payload field that is not JSON; vectors are checked by
  // the caller (Node::apply_remote knows the collection's dimension).
  absl::StatusOr<ReplicaWrite> apply_remote(crdt::ReplicaId peer, const crdt::PointSet& delta,
                                            std::optional<uint64_t> peer_seq);
  // The highest seq of `peer`'s delta log durably joined here (0 when none). Survives restarts.
  uint64_t joined_through(crdt::ReplicaId peer) const;
  const std::map<crdt::ReplicaId, uint64_t>& joined_through_all() const { return joined_; }

  // The replica's delta log. Its owner (the replicator) registers peers, records their
  // acknowledgements and compacts it; entries compacted here are removed from the store by the
  // next commit or trim_log().
  crdt::DeltaLog& log() { return log_; }
  const crdt::DeltaLog& log() const { return log_; }
  // Every stored log entry with seq <= persisted_log_horizon() is gone from the store.
  uint64_t persisted_log_horizon() const { return persisted_horizon_; }
  // Removes from the store the entries log() compacted away (a no-op when there are none).
  // Returns how many were removed.
  absl::StatusOr<uint64_t> trim_log();

  // True iff the state includes every write `token` (a decoded causal token) names.
  bool dominates(const crdt::VersionVector& token) const;
  std::string causal_token() const;
  // Hex of the canonical digest of the state.
  std::string digest_hex() const;
  crdt::ReplicaId replica_id() const { return replica_.id(); }
  const crdt::PointSet& state() const { return replica_.state(); }

 private:
  CollectionReplica(storage::Store& store, uint32_t collection_id, const ReplicaEnv& env,
                    crdt::PointReplica replica, uint64_t hlc_bound_ms, crdt::DeltaLog log,
                    uint64_t persisted_horizon, std::map<crdt::ReplicaId, uint64_t> joined);
  // The replica's state as stored: its causal record (nullopt when absent or unreadable) and the
  // state assembled from its slices and context.
  struct Loaded {
    std::optional<storage::CausalRecord> causal;
    crdt::PointSet state;
    size_t slices = 0;
  };
  static absl::StatusOr<Loaded> read_state(const storage::Store& store, uint32_t collection_id,
                                           const CorruptVisitor& on_corrupt);
  // The delta log as stored: the run of readable entries that ends at next_seq - 1 (older
  // entries behind a gap or an unreadable entry count as compacted), and the persisted horizon.
  struct LoadedLog {
    crdt::DeltaLog log;
    uint64_t persisted_horizon = 0;
  };
  static absl::StatusOr<LoadedLog> read_log(const storage::Store& store, uint32_t collection_id,
                                            uint64_t next_seq, const CorruptVisitor& on_corrupt);
  crdt::HlcTimestamp now();
  // Joins `deltas` (already applied to the state) into one log entry and commits the touched ids'
  // slices and winners.
  absl::StatusOr<ReplicaWrite> commit(std::vector<crdt::PointSet> deltas,
                                      const std::vector<crdt::PointId>& touched);
  // Commits a change of the state already made in memory: `delta` (when set) becomes the next
  // log entry; `touched` ids get their slices and view rewritten; `joined` (when set) is recorded.
  // On failure memory is reloaded from the store.
  absl::StatusOr<ReplicaWrite> commit_change(
      std::optional<crdt::PointSet> delta, const std::vector<crdt::PointId>& touched,
      std::optional<std::pair<crdt::ReplicaId, uint64_t>> joined);
  // Restores memory from the store after a failed commit.
  absl::Status reload();

  storage::Store& store_;
  uint32_t collection_id_;
  ReplicaEnv env_;
  crdt::HlcStats hlc_stats_;
  crdt::PointReplica replica_;
  crdt::HybridLogicalClock clock_;
  crdt::DeltaLog log_;
  uint64_t persisted_horizon_ = 0;              // stored log entries <= this are gone
  std::map<crdt::ReplicaId, uint64_t> joined_;  // durable joined-through per peer
};

}  // namespace meridian::node
