// One shard replica served over Cap'n Proto: its ShardReplicator, the RpcEnv that drives it, and at
// most one PeerSession per peer (dialled or accepted), chosen by the one-session rule.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "replication/rpc_dialer.h"
#include "replication/rpc_env.h"
#include "replication/rpc_peer.h"
#include "replication/shard_replicator.h"
#include "replication/shard_store.h"

namespace meridian::replication {

// One session per peer. When both replicas dial each other, the session dialled by the lower
// replica id is kept: an inbound openSession from a higher id is refused (AlreadyExists) while
// our own dialled session to it exists; one from a lower id replaces our dialled session. Any
// other inbound session replaces the existing one (the peer restarted; the old one is dead).
//
// Not thread-safe: everything runs on the event loop of `timer`. `store`, `timer`, `dialer` and
// `limits` must outlive the host. Destroying it cancels its timers and closes its sessions.
class ShardHost final : public RpcTransport,
                        public SessionOwner,
                        private kj::TaskSet::ErrorHandler {
 public:
  ShardHost(crdt::ReplicaId self, ReplicatorOptions options, ShardStore& store, kj::Timer& timer,
            PeerDialer& dialer, const RpcLimits& limits, uint64_t seed);
  ~ShardHost() noexcept override;
  ShardHost(const ShardHost&) = delete;
  ShardHost& operator=(const ShardHost&) = delete;

  // Registers the shard's other replicas and starts replicating (dials each peer).
  void start(const std::vector<crdt::ReplicaId>& peers);
  void add_peer(crdt::ReplicaId peer);
  void remove_peer(crdt::ReplicaId peer);
  // The store committed local writes through `seq`.
  void on_local_commit(uint64_t seq) { replicator_.on_local_commit(seq); }

  crdt::ReplicaId id() const { return self_; }
  const ShardRef& shard() const { return options_.shard; }
  const ShardReplicator& replicator() const { return replicator_; }
  const ReplicationMetrics& metrics() const { return metrics_; }
  // Transport figures of `peer` (all zero for a peer never seen).
  const PeerTransportMetrics& transport_metrics(crdt::ReplicaId peer) { return transport_[peer]; }
  // The peer's session exists and its connection is up.
  bool session_connected(crdt::ReplicaId peer) const;

  // An inbound Replicator.openSession from the sender of `their_hello` (a Hello PeerMessage for
  // this shard). On success the session takes the connection from `take_connection` and the
  // result is our Hello and the sink for the peer's messages. NotFound for a replica that is not
  // our peer; AlreadyExists when the one-session rule keeps our dialled session.
  struct Opened {
    wire::DeltaSink::Client sink;
    PeerMessage hello;
  };
  absl::StatusOr<Opened> open_inbound(
      const PeerMessage& their_hello,
      const std::function<kj::Own<PeerConnection>()>& take_connection,
      wire::DeltaSink::Client reply_sink);
  // A sessionless Replicator.exchange: joins what the request says and answers with our Exchange.
  absl::StatusOr<PeerMessage> exchange(const PeerMessage& request);

  // RpcTransport (from the replicator through RpcEnv).
  void send(crdt::ReplicaId to, PeerMessage message) override;
  void connect(crdt::ReplicaId peer) override;

  // SessionOwner (from the sessions).
  void on_session_connected(PeerSession& session) override;
  absl::Status on_session_message(PeerSession& session, const PeerMessage& message) override;
  uint64_t joined_through(crdt::ReplicaId peer) override { return store_.joined_through(peer); }
  void on_session_checkpoint(PeerSession& session, uint64_t joined_through) override;
  void on_session_failed(PeerSession& session, const kj::Exception& reason) override;

 private:
  bool current(const PeerSession& session) const;
  // Removes the peer's session (if any); it is destroyed on a later turn of the loop, never
  // inside one of its own callbacks.
  void retire(crdt::ReplicaId peer);
  void taskFailed(kj::Exception&& exception) override;

  crdt::ReplicaId self_;
  ReplicatorOptions options_;
  ShardStore& store_;
  kj::Timer& timer_;
  PeerDialer& dialer_;
  const RpcLimits& limits_;
  ReplicationMetrics metrics_;
  std::map<crdt::ReplicaId, PeerTransportMetrics> transport_;
  std::set<crdt::ReplicaId> peers_;
  RpcEnv env_;
  ShardReplicator replicator_;
  std::map<crdt::ReplicaId, kj::Own<PeerSession>> sessions_;
  // While open_inbound runs on_connected: the peer whose Hello is captured instead of sent.
  std::optional<crdt::ReplicaId> capture_for_;
  std::optional<PeerMessage> captured_hello_;
  kj::TaskSet tasks_;  // retired sessions awaiting destruction; last, so destroyed first
};

}  // namespace meridian::replication
