// Per-shard delta log for delta-interval anti-entropy (Almeida et al., Algorithm 2): numbered
// deltas, per-peer acknowledgements, joined intervals for each peer, and compaction of the deltas
// every known peer has acknowledged (causal stability).
#pragma once

#include <cstdint>
#include <deque>
#include <map>

#include "absl/status/statusor.h"
#include "crdt/point_set.h"

namespace meridian::crdt {

// What to send a peer next.
struct OutgoingDeltas {
  enum class Kind {
    kUpToDate,   // the peer has acknowledged every delta; send nothing
    kDeltas,     // send `delta`, the join of every delta the peer has not acknowledged
    kFullState,  // the peer is behind the compacted horizon: send the full state instead
  };
  Kind kind = Kind::kUpToDate;
  PointSet delta;  // set only for kDeltas
  uint64_t through_seq =
      0;  // the peer acknowledges this seq once it has durably joined the payload
};

// Not thread-safe. Sequence numbers are this log's own (1, 2, ...); a peer's acknowledgement of
// seq n means it has durably joined every delta numbered <= n (directly or through a full state
// sent with through_seq >= n).
class DeltaLog {
 public:
  // An empty log whose next delta gets `next_seq`; seqs below it count as compacted. After a
  // restart whose log entries were not kept, pass the persisted next seq: peers that had not
  // acknowledged everything get a full state. A replica whose state holds writes that were never
  // logged (one restored from a backup) passes next_seq >= 2, so every peer gets a full state.
  explicit DeltaLog(uint64_t next_seq = 1);

  // Appends a delta (a local write, or a received delta that changed the state: re-buffering it
  // forwards it transitively). Returns its seq.
  uint64_t append(PointSet delta);

  // Peers whose acknowledgements gate compaction. A new peer starts at `acked` (0 by default: it
  // needs everything, hence a full state if anything was compacted).
  void add_peer(ReplicaId peer, uint64_t acked = 0);
  // Fenced removal (a decommissioned region or a replaced incarnation): it no longer blocks
  // compaction.
  void remove_peer(ReplicaId peer);
  bool has_peer(ReplicaId peer) const { return acked_.contains(peer); }

  // Records that `peer` has durably joined everything through `seq`. Acks only move forward; a
  // stale or duplicate ack is ignored. NotFound for an unknown peer, InvalidArgument for a seq this
  // log never issued.
  absl::Status acknowledge(ReplicaId peer, uint64_t seq);
  absl::StatusOr<uint64_t> acked(ReplicaId peer) const;

  // What `peer` needs now (NotFound for an unknown peer).
  absl::StatusOr<OutgoingDeltas> deltas_since(ReplicaId peer) const;

  // The join of the deltas with seqs in (after, through]: one interval of a stream whose earlier
  // intervals are already on their way. FailedPrecondition when after < horizon() (compacted),
  // through > last_seq() or after >= through.
  absl::StatusOr<PointSet> deltas_between(uint64_t after, uint64_t through) const;

  // Where an interval starting after `after` should end so that it carries about `max_points`
  // points: the largest seq whose deltas (after, seq] hold at most that many (counting each delta
  // as at least one), but never less than after + 1. REQUIRES: horizon() <= after < last_seq().
  uint64_t interval_end(uint64_t after, size_t max_points) const;

  // Drops every delta that all known peers have acknowledged. Returns how many were dropped.
  size_t compact();

  // The highest seq issued so far (next_seq - 1).
  uint64_t last_seq() const { return next_seq_ - 1; }
  // Deltas with seq <= horizon() are no longer held.
  uint64_t horizon() const { return next_seq_ - 1 - entries_.size(); }
  size_t size() const { return entries_.size(); }
  // The seq every known peer has acknowledged (last_seq() when there are no peers).
  uint64_t stable_seq() const;

 private:
  uint64_t next_seq_;
  std::deque<PointSet> entries_;  // seqs horizon()+1 .. last_seq()
  std::map<ReplicaId, uint64_t> acked_;
};

}  // namespace meridian::crdt
