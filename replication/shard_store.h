// The port through which a ShardReplicator reaches the shard replica it serves: its CRDT state, its
// delta log, and a durable "join what a peer sent" operation. node/ implements it over storage/;
// MemoryShardStore (memory_shard_store.h) implements it for tests and the simulator.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "crdt/delta_log.h"
#include "crdt/point_set.h"

namespace meridian::replication {

// Not thread-safe: the replicator and the store are used from one thread (the shard's loop).
class ShardStore {
 public:
  virtual ~ShardStore() = default;

  virtual const crdt::PointSet& state() const = 0;
  // The shard's log. The replicator registers peers, records their acknowledgements and compacts;
  // the store appends local writes and (in apply) received deltas that changed the state.
  virtual crdt::DeltaLog& log() = 0;

  // Durably joins `delta`, received from `peer`, into the state, in one transaction with: the
  // delta appended to the log when it changed the state (so it is forwarded to other peers), and,
  // when `peer_seq` is set, the record that every delta of `peer`'s log <= *peer_seq is joined.
  // Only after it returns OK may the replicator acknowledge. An error leaves everything unchanged.
  virtual absl::Status apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                             std::optional<uint64_t> peer_seq) = 0;

  // The highest seq of `peer`'s log durably joined here (0 when none). Survives restarts.
  virtual uint64_t joined_through(crdt::ReplicaId peer) const = 0;
};

}  // namespace meridian::replication
