// A node's place in the cluster: the peer port (replication::ReplicationEndpoint), gossip of
// membership and the collection catalog with the seeds and every known member, and one
// replicated shard replica (ShardHost over a CollectionShardStore) per local collection shard
// replica, whose peers are the replicas of the same shard of the collection on every other node,
// in every region; and the hand-off of the shard replicas this node no longer owns to their
// owners (docs/sharding.md, "Moving shards"). Methods taking a `collection` name a local shard
// replica (its local name, see shard_replica_name(); the collection's own name for shard 0).
//
// Everything runs on the KJ event loop of `timer` (the loop that also serves the client API), so
// Node calls from here never race the API. Not thread-safe.
#pragma once

#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "node/cluster_codec.h"
#include "node/cluster_membership.h"
#include "node/node.h"
#include "node/shard_handoff.h"
#include "replication/rpc_dialer.h"
#include "replication/rpc_endpoint.h"

namespace meridian::node {

class CollectionShardStore;

inline replication::ReplicatorOptions default_replicator_options() {
  replication::ReplicatorOptions options;
  options.backoff.max_ms = 2000;
  // Peers are often a long round trip away: a deeper window keeps a backlog (after a partition)
  // flowing at the link's speed rather than one window per round trip.
  options.max_in_flight = 8;
  options.max_bytes_in_flight = 8u << 20;
  return options;
}

struct ClusterOptions {
  std::string region = "local";
  std::string client_address;      // advertised to members (where clients reach this node)
  std::string peer_address;        // advertised to members (where peers reach this node)
  std::vector<std::string> seeds;  // peer addresses to gossip with until members are known
  // Address rewrites for dialling: FROM -> TO (a fault-injecting proxy in front of a member).
  std::map<std::string, std::string> dial_via;
  int64_t gossip_interval_ms = 500;
  int64_t gossip_timeout_ms = 3000;
  int64_t suspect_after_ms = 10'000;  // a member not heard of this long is reported down
  // How often shard replicas this node no longer owns are checked for hand-off.
  int64_t handoff_check_ms = 200;
  // Shard and region are filled in per collection. Reconnects back off to at most 2 s: a healed
  // partition is repaired within seconds, and a dial every 2 s to a dead peer costs nothing.
  replication::ReplicatorOptions replicator = default_replicator_options();
  replication::RpcLimits limits;
  // Mutual TLS on the peer port (accepting, replication dials and gossip); null: plaintext. Not
  // owned: must outlive the service.
  replication::PeerTls* peer_tls = nullptr;
};

enum class WriteConcern { kLocal, kRegion, kAllRegions };

// Whether a local commit has reached what its write concern asks for.
struct WriteConfirmation {
  bool confirmed = false;
  std::vector<std::string> missing_regions;  // regions that have not acknowledged it yet
};

struct PeerReplicationStatus {
  std::string collection;
  uint32_t shard = 0;
  uint64_t replica_id = 0;
  std::string node_id;
  std::string region;
  bool connected = false;
  uint64_t lag_deltas = 0;
  int64_t lag_ms = 0;
  uint64_t acked_seq = 0;  // our log position the peer has durably joined
  uint64_t bytes_sent = 0;
  uint64_t full_state_transfers = 0;
  uint64_t full_states_received = 0;
  uint64_t reconnects = 0;
  // Our stream to the peer stopped: it rejected the same deltas as invalid again and again.
  bool quarantined = false;
  std::string quarantine_reason;  // the peer's error
};

// A node holding a replica of a collection shard.
struct ShardHolder {
  std::string node_id;
  std::string region;
  std::string client_address;
  friend bool operator==(const ShardHolder&, const ShardHolder&) = default;
};

// A shard replica this node holds but no longer owns, waiting to be handed off to its owners
// (docs/sharding.md, "Moving shards").
struct ShardHandoffStatus {
  std::string collection;
  uint32_t shard = 0;
  // Every owner is up, has a replica and is connected: writes for the shard go to its owners.
  bool forwarding_writes = false;
  std::vector<LaggingOwner> lagging;  // owners that do not hold everything of it yet
};

struct MemberStatus {
  MemberInfo info;
  bool up = false;
};

struct ClusterStatus {
  std::string region;
  std::string peer_address;
  std::vector<MemberStatus> members;
  std::vector<PeerReplicationStatus> peers;
  uint64_t gossip_rounds = 0;
  uint64_t gossip_failures = 0;
  bool peer_tls = false;     // the peer port speaks mutual TLS
  uint64_t tls_refused = 0;  // inbound peer connections refused at the TLS handshake
  std::vector<ShardHandoffStatus> handoffs;  // replicas being handed off, by local name
};

class ClusterService : private kj::TaskSet::ErrorHandler {
 public:
  // `node`, `network` and `timer` must outlive the service.
  ClusterService(Node& node, kj::Network& network, kj::Timer& timer, ClusterOptions options);
  ~ClusterService() noexcept;
  ClusterService(const ClusterService&) = delete;
  ClusterService& operator=(const ClusterService&) = delete;

  // Serves the peer port on `receiver` and starts gossiping and replicating.
  void start(kj::Own<kj::ConnectionReceiver> receiver);

  // Node hooks (install them in NodeOptions before opening the node; see make_node_hooks()).
  void on_local_commit(const std::string& collection, uint64_t seq);
  void before_collection_drop(const std::string& collection);

  ClusterStatus status() const;
  // Per peer region, the highest seq of this replica's log that some replica of `collection`
  // in that region has durably joined (for write concerns).
  std::map<std::string, uint64_t> acked_by_region(const std::string& collection) const;
  // Whether the local commit `seq` of `collection` satisfies `concern`: kRegion, a majority of
  // the collection's replicas in our region (us included) durably joined it; kAllRegions, some
  // replica in every other region did. seq 0 (a write that changed nothing) is confirmed.
  WriteConfirmation confirmation(const std::string& collection, uint64_t seq,
                                 WriteConcern concern) const;
  // The nodes holding a replica of shard `shard` of the collection named `collection` (not a
  // local name): this node first when it does, then every member advertising one, by node id.
  std::vector<ShardHolder> shard_holders(const std::string& collection, uint32_t shard) const;
  // The other nodes of this region to send a request for shard `shard` of the collection
  // `config` to, best first: its owners by placement over the region's known members, then any
  // other member advertising a replica of it. Empty when this node knows no other.
  std::vector<ShardHolder> region_holders(const CollectionConfig& config, uint32_t shard) const;
  // Regions that have at least one replica of `collection` (other than ours).
  std::set<std::string> peer_regions(const std::string& collection) const;
  // Whether writes for shard `shard` of the collection named `collection` go to its owners
  // although a replica is held here: it is being handed off and every owner is reachable, so
  // the replica takes no new writes and its owners catch up with it.
  bool forwards_writes(const std::string& collection, uint32_t shard) const;
  // How many replicas this node has handed off (removed) since it started.
  uint64_t retired_replicas() const { return retired_replicas_; }

 private:
  struct Shard;

  GossipMessage own_view();
  // Joins a peer's view; creates/drops collections per the catalog and updates the shards.
  void absorb(const GossipMessage& message);
  // Tells the node its region's known members (it recomputes which shards it owns).
  void place_shards();
  absl::StatusOr<std::string> answer_gossip(std::string_view bytes);
  kj::Promise<void> gossip_loop();
  void gossip_round();
  kj::Promise<void> gossip_with(const std::string& address);
  // Starts/stops shard replicas to match the node's collections and registers their peers.
  void sync_shards();
  // Hand-off of the replicas this node no longer owns: every
  // handoff_check_ms, retires those whose owners hold everything (Node::retire_replica).
  kj::Promise<void> handoff_loop();
  void check_handoffs();
  // What the replica `shard`, whose delta log is `log`, knows of each of `owners` (node ids).
  // Calls nothing on the node (it runs under the node's lock in Node::retire_replica).
  std::vector<OwnerProgress> owner_progress(const Shard& shard, const crdt::DeltaLog& log,
                                            const std::vector<std::string>& owners) const;
  std::string route(const std::string& address) const;
  void log_refusal(const std::string& reason);
  int64_t now_ms() const;
  void taskFailed(kj::Exception&& exception) override;

  Node& node_;
  kj::Network& network_;
  kj::Timer& timer_;
  ClusterOptions options_;
  Membership membership_;
  uint64_t heartbeat_ = 0;
  uint64_t gossip_rounds_ = 0;
  uint64_t gossip_failures_ = 0;
  std::set<std::string> gossip_in_flight_;
  // TLS refusals are logged at most once per kRefusalLogIntervalMs, with how many were not.
  int64_t last_refusal_log_ms_ = -1;
  uint64_t unlogged_refusals_ = 0;
  replication::NetworkDialer dialer_;
  std::unique_ptr<replication::ReplicationEndpoint> endpoint_;
  std::map<std::string, std::unique_ptr<Shard>> shards_;
  std::map<std::string, ShardHandoffStatus> handoffs_;  // by local name, from the last check
  uint64_t retired_replicas_ = 0;
  kj::TaskSet tasks_;  // last: destroyed first, cancelling gossip
};

}  // namespace meridian::node
