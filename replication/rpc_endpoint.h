// A node's replication endpoint: its own accept loop for peer connections (one TwoPartyVatNetwork
// + RpcSystem per connection, each with a fresh Replicator bootstrap) and the shard replicas it
// serves, keyed by shard; sessions are routed to a shard by the Hello that opens them.
#pragma once

#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "replication/peer_tls.h"
#include "replication/rpc_dialer.h"
#include "replication/rpc_peer.h"
#include "replication/rpc_shard_host.h"

namespace meridian::replication {

struct EndpointMetrics {
  uint64_t accepted = 0;           // peer connections accepted
  uint64_t idle_dropped = 0;       // accepted connections that opened no session in time
  uint64_t refused_calls = 0;      // openSession / exchange calls answered with an error
  uint64_t tls_refused = 0;        // accepted connections whose TLS handshake failed
  uint64_t tls_abandoned = 0;      // accepted connections whose client hung up mid-handshake
  size_t pending_connections = 0;  // accepted, no session yet
};

// Not thread-safe: runs on the event loop of `timer`. `timer` and `dialer` (and `tls`, when not
// null) must outlive the endpoint. Destroying it stops accepting, closes every connection and
// stops every shard. With `tls`, every accepted connection must complete a mutual TLS handshake
// (within RpcLimits::connect_timeout_ms) before any RPC is read from it.
class ReplicationEndpoint : private kj::TaskSet::ErrorHandler {
 public:
  ReplicationEndpoint(kj::Timer& timer, PeerDialer& dialer, RpcLimits limits = {},
                      PeerTls* tls = nullptr);
  ~ReplicationEndpoint() noexcept;
  ReplicationEndpoint(const ReplicationEndpoint&) = delete;
  ReplicationEndpoint& operator=(const ReplicationEndpoint&) = delete;

  // Accepts peer connections on `receiver` until the endpoint is destroyed. Call once.
  void listen(kj::Own<kj::ConnectionReceiver> receiver);
  // The port listen() accepts on (0 before listen()).
  unsigned port();

  // Serves a shard replica (its peers are registered with ShardHost::start). `store` must outlive
  // the endpoint. REQUIRES: no shard with the same ShardRef yet.
  ShardHost& add_shard(crdt::ReplicaId self, ReplicatorOptions options, ShardStore& store,
                       uint64_t seed);
  ShardHost* find_shard(const ShardRef& shard);
  // Stops serving a shard replica at once: its sessions close and its timers stop, so nothing
  // reaches its store afterwards. No-op when absent. Must not be called from inside one of that
  // shard's own callbacks (its ShardStore, its sessions' calls).
  void remove_shard(const ShardRef& shard);
  // Answers Replicator.gossip calls (opaque bytes in, bytes out; an error status is returned to
  // the caller as an exception). Without a handler gossip is refused (Unimplemented).
  using GossipHandler = std::function<absl::StatusOr<std::string>(std::string_view message)>;
  void set_gossip_handler(GossipHandler handler) { gossip_handler_ = std::move(handler); }
  // Told of every connection refused at the TLS handshake (its reason), for the node's log.
  using RefusalHandler = std::function<void(const std::string& reason)>;
  void set_refusal_handler(RefusalHandler handler) { refusal_handler_ = std::move(handler); }

  const EndpointMetrics& metrics() const { return metrics_; }
  const RpcLimits& limits() const { return limits_; }

 private:
  class ReplicatorServer;
  struct Liveness;

  kj::Promise<void> accept_loop();
  // Serves an accepted (and, with TLS, handshaken) stream.
  void serve(kj::Own<kj::AsyncIoStream> stream);
  // The accepted connection `id`, which a session takes over (null if it is gone).
  kj::Own<PeerConnection> take_connection(uint64_t id);
  // Closes connection `id` on a later turn (never inside one of its own calls).
  void drop_connection(uint64_t id);
  void taskFailed(kj::Exception&& exception) override;

  kj::Timer& timer_;
  PeerDialer& dialer_;
  RpcLimits limits_;
  EndpointMetrics metrics_;
  std::map<ShardRef, std::unique_ptr<ShardHost>> shards_;
  PeerTls* tls_;
  GossipHandler gossip_handler_;
  RefusalHandler refusal_handler_;
  std::map<uint64_t, kj::Own<PeerConnection>> connections_;  // accepted, no session yet
  uint64_t next_connection_ = 1;
  kj::Own<kj::ConnectionReceiver> receiver_;
  kj::Own<Liveness> liveness_;  // shared with the Replicator capabilities handed out
  kj::TaskSet tasks_;           // last: destroyed first, cancelling the accept loop
};

}  // namespace meridian::replication
