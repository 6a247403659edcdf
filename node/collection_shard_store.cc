// A collection of a Node as a replication::ShardStore; see collection_shard_store.h.
#include "node/collection_shard_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "node/log.h"

namespace meridian::node {

absl::StatusOr<std::unique_ptr<CollectionShardStore>> CollectionShardStore::create(
    Node& node, std::string collection) {
  auto replica = node.replica(collection);
  if (!replica.ok()) return replica.status();
  return std::unique_ptr<CollectionShardStore>(
      new CollectionShardStore(node, std::move(collection), *std::move(replica)));
}

CollectionShardStore::CollectionShardStore(Node& node, std::string collection,
                                           std::shared_ptr<CollectionReplica> replica)
    : node_(node),
      collection_(std::move(collection)),
      replica_(std::move(replica)),
      replica_id_(replica_->replica_id()) {}

crdt::DeltaLog& CollectionShardStore::log() {
  // The replicator compacts the log it gets from here; trim what an earlier compaction dropped.
  // Either trigger is cheap to test, and a trim is one small transaction that touches only the
  // dropped entries. A failure is retried by the next commit or call.
  const crdt::DeltaLog& log = replica_->log();
  const uint64_t persisted = replica_->persisted_log_horizon();
  if (!detached_ && log.horizon() > persisted &&
      (log.size() == 0 || log.horizon() - persisted >= kTrimLag)) {
    if (auto trimmed = trim_log(); !trimmed.ok() && !detached_) {
      log_error(absl::StrCat("collection '", collection_,
                             "': trimming the delta log failed: ", trimmed.status().ToString()));
    }
  }
  return replica_->log();
}

absl::Status CollectionShardStore::apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                                         std::optional<uint64_t> peer_seq) {
  auto s = node_.apply_remote(collection_, peer, delta, peer_seq, replica_id_);
  if (s.code() == absl::StatusCode::kNotFound) detached_ = true;
  return s;
}

absl::StatusOr<uint64_t> CollectionShardStore::trim_log() {
  auto trimmed = node_.trim_replication_log(collection_, replica_id_);
  if (trimmed.status().code() == absl::StatusCode::kNotFound) detached_ = true;
  return trimmed;
}

}  // namespace meridian::node
