// In-memory ShardStore. A restart keeps the log's next seq but not its entries (as a store that
// persists only the counter would), so peers that had not acknowledged everything get a full state.
#include "replication/memory_shard_store.h"

#include <algorithm>

#include "crdt/point_set_codec.h"

namespace meridian::replication {

absl::StatusOr<MemoryShardStore> MemoryShardStore::recover(crdt::ReplicaId id,
                                                           const DurableShard& durable) {
  auto state = crdt::decode_point_set(durable.state);
  if (!state.ok()) return state.status();
  return MemoryShardStore(crdt::PointReplica::resume(id, *std::move(state)),
                          crdt::DeltaLog(durable.next_seq), durable.joined_through);
}

DurableShard MemoryShardStore::durable() const {
  return DurableShard{crdt::encode_point_set(replica_.state()), log_.last_seq() + 1, joined_};
}

absl::Status MemoryShardStore::apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                                     std::optional<uint64_t> peer_seq) {
  if (replica_.apply(delta)) log_.append(delta);
  if (peer_seq) {
    uint64_t& joined = joined_[peer];
    joined = std::max(joined, *peer_seq);
  }
  return absl::OkStatus();
}

uint64_t MemoryShardStore::joined_through(crdt::ReplicaId peer) const {
  auto it = joined_.find(peer);
  return it == joined_.end() ? 0 : it->second;
}

}  // namespace meridian::replication
