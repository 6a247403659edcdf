// One replica's handle on a PointSet: the local write operations of the points CRDT, each of which
// mints fresh dots for this replica, joins the resulting delta into the state and returns it.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crdt/hlc.h"
#include "crdt/point_set.h"

namespace meridian::crdt {

// Not thread-safe. Timestamps come from the caller's HybridLogicalClock (one now() per write).
// Every write returns its delta, already joined into state(); the caller logs and ships it.
class PointReplica {
 public:
  // A new, empty replica. `id` must never have been used by any replica.
  explicit PointReplica(ReplicaId id) : id_(id) {}

  // A clean restart: the same replica from its own durable state (which holds every dot it
  // minted, since each write's delta is committed before it is shipped).
  static PointReplica resume(ReplicaId id, PointSet state);
  // A restore from a copy that may be older than what peers have seen (a backup, or a store that
  // lost unsynced writes): the caller mints a fresh id. FailedPrecondition when `fresh_id` already
  // has dots in the copy's context, as reusing it would re-issue dots peers consider seen.
  static absl::StatusOr<PointReplica> restore_as(ReplicaId fresh_id, PointSet state);

  // Replaces the point: removes every version of `id` observed here (vector and all fields), then
  // writes the vector and `payload` with fresh dots. Concurrent deletes do not remove it.
  PointSet upsert(const PointId& id, std::vector<float> vector, const PayloadFields& payload,
                  HlcTimestamp ts);
  // Observed remove of every version of `id` (orphan fields included); leaves no tombstone.
  // NotFound when this replica holds nothing for `id`.
  absl::StatusOr<PointSet> remove(const PointId& id);
  // Writes the given fields (each replaces the observed versions of that field only).
  // NotFound when the point does not exist here.
  absl::StatusOr<PointSet> set_payload(const PointId& id, const PayloadFields& fields,
                                       HlcTimestamp ts);
  // Removes every observed field of the point, then writes `fields`. NotFound as above.
  absl::StatusOr<PointSet> overwrite_payload(const PointId& id, const PayloadFields& fields,
                                             HlcTimestamp ts);
  // Removes the observed versions of the given fields (absent keys are ignored). NotFound as above.
  absl::StatusOr<PointSet> delete_payload_keys(const PointId& id,
                                               const std::vector<std::string>& keys);

  // Joins a delta (or full state) from a peer. Returns true iff the state changed.
  bool apply(const PointSet& delta, std::vector<PointId>* touched = nullptr) {
    return state_.join(delta, touched);
  }

  ReplicaId id() const { return id_; }
  const PointSet& state() const { return state_; }
  // The causal token of the state: every write it includes, as a version vector.
  const VersionVector& causal_token() const { return state_.context().vv(); }

 private:
  PointReplica(ReplicaId id, PointSet state) : id_(id), state_(std::move(state)) {}

  // Records the removal of every version of `record` (all fields when `fields` is null, else the
  // named ones; the vector register only when `with_vector`) in `delta`'s context.
  static void observe_removal(const PointRecord& record, bool with_vector,
                              const std::vector<std::string>* fields, PointSet& delta);
  Dot mint(PointSet& delta);
  void write_fields(const PointId& id, const PayloadFields& fields, HlcTimestamp ts,
                    PointSet& delta);
  PointSet commit(PointSet delta);

  ReplicaId id_;
  PointSet state_;
};

}  // namespace meridian::crdt
