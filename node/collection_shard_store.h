// The replication::ShardStore of one collection of a Node: the port through which a shard's
// ShardReplicator reads the collection's CRDT state and delta log and durably joins what peers
// send. One shard per collection for now (shard number 0).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "crdt/delta_log.h"
#include "crdt/point_set.h"
#include "node/collection_replica.h"
#include "node/node.h"
#include "replication/shard_store.h"

namespace meridian::node {

// Threads: every call runs on the one thread of the shard's replicator (the KJ event loop), like
// the replicator itself. state() and log() return references into the collection's in-memory
// replica that take no lock: they are valid on that thread only while no write to the collection
// runs on another thread, so the node's writes to a replicated collection must be serialised with
// the replicator (run on the same loop, or with the replicator's work excluded while they run).
//
// apply() goes through Node::apply_remote (durable join, then the index), so it takes the node's
// lock like any write. The store is bound to the collection's replica at create(): when the
// collection is dropped (or dropped and re-created under the same name) apply() and trim_log()
// fail with NotFound, and state()/log()/joined_through() keep answering from the detached replica
// (which the store keeps alive), so a replicator still running never touches freed memory.
//
// Log trimming: the replicator compacts log() after acknowledgements; the entries it drops are
// removed from the store's `log` database by the collection's next commit (local write or
// apply()), or by trim_log(). log() calls trim_log() itself when the in-memory log has been
// emptied (every peer acknowledged everything) or has run kTrimLag entries ahead of the store, so
// the stored log follows the compacted one without a commit or a timer.
class CollectionShardStore final : public replication::ShardStore {
 public:
  // How far the stored log may lag the compacted in-memory one before log() trims it.
  static constexpr uint64_t kTrimLag = 256;

  // Binds to the collection `collection` of `node` (NotFound when it does not exist). `node` must
  // outlive the store.
  static absl::StatusOr<std::unique_ptr<CollectionShardStore>> create(Node& node,
                                                                      std::string collection);

  const crdt::PointSet& state() const override { return replica_->state(); }
  crdt::DeltaLog& log() override;
  // Node::apply_remote on the bound replica. NotFound when the collection was dropped;
  // InvalidArgument for a delta that does not fit the collection; other errors from the store
  // (nothing applied in any case).
  absl::Status apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                     std::optional<uint64_t> peer_seq) override;
  uint64_t joined_through(crdt::ReplicaId peer) const override {
    return replica_->joined_through(peer);
  }

  // Removes the entries log() compacted away from the store's `log` database now. Returns how
  // many were removed; NotFound when the collection was dropped.
  absl::StatusOr<uint64_t> trim_log();

  // The replica id of the bound replica: the id the shard's replicator must run under.
  crdt::ReplicaId replica_id() const { return replica_id_; }
  const std::string& collection() const { return collection_; }

 private:
  CollectionShardStore(Node& node, std::string collection,
                       std::shared_ptr<CollectionReplica> replica);

  Node& node_;
  const std::string collection_;
  const std::shared_ptr<CollectionReplica> replica_;
  const crdt::ReplicaId replica_id_;
  bool detached_ = false;  // the collection is gone: no more trimming attempts
};

}  // namespace meridian::node
