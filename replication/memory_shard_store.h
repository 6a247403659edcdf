// An in-memory ShardStore around crdt::PointReplica and crdt::DeltaLog, with the durable image a
// real store would keep (encoded state, next log seq, joined-through map) for crash/restart tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "crdt/point_replica.h"
#include "replication/shard_store.h"

namespace meridian::replication {

// What survives a crash: exactly what ShardStore promises is durable.
struct DurableShard {
  std::string state;  // crdt codec bytes of the state
  uint64_t next_seq = 1;
  std::map<crdt::ReplicaId, uint64_t> joined_through;
};

// Not thread-safe. Every mutation is "durable" at once (nothing is lost by a crash), which is the
// contract a real store keeps with its transactions.
class MemoryShardStore final : public ShardStore {
 public:
  explicit MemoryShardStore(crdt::ReplicaId id) : replica_(id) {}
  // Restarts from a durable image (a clean restart under the same replica id). DataLoss when the
  // state bytes do not decode.
  static absl::StatusOr<MemoryShardStore> recover(crdt::ReplicaId id, const DurableShard& durable);

  // Local writes go through replica() and are then committed here; returns the log seq.
  crdt::PointReplica& replica() { return replica_; }
  uint64_t commit_local(crdt::PointSet delta) { return log_.append(std::move(delta)); }
  DurableShard durable() const;

  const crdt::PointSet& state() const override { return replica_.state(); }
  crdt::DeltaLog& log() override { return log_; }
  absl::Status apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                     std::optional<uint64_t> peer_seq) override;
  uint64_t joined_through(crdt::ReplicaId peer) const override;

 private:
  MemoryShardStore(crdt::PointReplica replica, crdt::DeltaLog log,
                   std::map<crdt::ReplicaId, uint64_t> joined)
      : replica_(std::move(replica)), log_(std::move(log)), joined_(std::move(joined)) {}

  crdt::PointReplica replica_;
  crdt::DeltaLog log_;
  std::map<crdt::ReplicaId, uint64_t> joined_;
};

}  // namespace meridian::replication
