// Test helpers for the Cap'n Proto replication adapter: replica nodes (MemoryShardStore +
// ReplicationEndpoint on 127.0.0.1:0) sharing one KJ event loop, local writes, and waiting on a
// condition with a deadline by turning the loop.
#pragma once

#include <kj/async-io.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crdt/point_set_codec.h"
#include "replication/memory_shard_store.h"
#include "replication/rpc_endpoint.h"

namespace meridian::replication::testing {

inline ShardRef test_shard() { return ShardRef{"docs", 0}; }

// Options for fast tests: short ticks and backoff, so reconnects happen within a second.
inline ReplicatorOptions fast_options() {
  ReplicatorOptions o;
  o.shard = test_shard();
  o.region = "test";
  o.tick_ms = 50;
  o.ack_timeout_ms = 400;
  o.backoff = BackoffPolicy{50, 400, 2};
  return o;
}

// One replica: its store survives the endpoint (crash images are taken from it).
struct RpcNode {
  crdt::ReplicaId id = 0;
  std::unique_ptr<MemoryShardStore> store;
  std::unique_ptr<NetworkDialer> dialer;
  std::unique_ptr<ReplicationEndpoint> endpoint;
  ShardHost* host = nullptr;
  uint64_t clock = 0;

  std::string address() { return "127.0.0.1:" + std::to_string(endpoint->port()); }
};

// Not thread-safe; one per test, on the thread of `io`.
class RpcCluster {
 public:
  explicit RpcCluster(kj::AsyncIoContext& io) : io_(io) {}
  ~RpcCluster() {
    // Endpoints before stores (they point at them).
    for (auto& [id, node] : nodes_) node->endpoint.reset();
  }

  kj::Timer& timer() { return io_.provider->getTimer(); }
  kj::WaitScope& wait_scope() { return io_.waitScope; }
  kj::Network& network() { return io_.provider->getNetwork(); }

  // Creates node `id` (from `image` when given) listening on a fresh port; not started yet.
  RpcNode& add(crdt::ReplicaId id, RpcLimits limits = {},
               ReplicatorOptions options = fast_options(),
               std::optional<DurableShard> image = std::nullopt) {
    auto node = std::make_unique<RpcNode>();
    node->id = id;
    if (image) {
      node->store = std::make_unique<MemoryShardStore>(*MemoryShardStore::recover(id, *image));
    } else {
      node->store = std::make_unique<MemoryShardStore>(id);
    }
    node->dialer = std::make_unique<NetworkDialer>(network());
    node->endpoint = std::make_unique<ReplicationEndpoint>(timer(), *node->dialer, limits);
    node->endpoint->listen(network().parseAddress("127.0.0.1", 0).wait(wait_scope())->listen());
    node->host = &node->endpoint->add_shard(id, options, *node->store, id * 7919);
    RpcNode& ref = *node;
    nodes_[id] = std::move(node);
    publish_addresses();
    return ref;
  }

  // Crashes node `id`: destroys its endpoint and store and returns the store's durable image.
  DurableShard crash(crdt::ReplicaId id) {
    RpcNode& n = node(id);
    DurableShard image = n.store->durable();
    n.endpoint.reset();
    nodes_.erase(id);
    return image;
  }

  // Tells every node's dialer where every other node listens.
  void publish_addresses() {
    for (auto& [from, a] : nodes_) {
      for (auto& [to, b] : nodes_) {
        if (from != to) a->dialer->set_address(to, b->address());
      }
    }
  }

  RpcNode& node(crdt::ReplicaId id) { return *nodes_.at(id); }

  // Upserts point `point` on node `id` and streams it.
  void write(crdt::ReplicaId id, const std::string& point, size_t dim = 4) {
    RpcNode& n = node(id);
    auto delta = n.store->replica().upsert(point, std::vector<float>(dim, static_cast<float>(id)),
                                           {{"from", std::to_string(id)}},
                                           crdt::HlcTimestamp{1'000'000 + ++n.clock, 0});
    n.host->on_local_commit(n.store->commit_local(std::move(delta)));
  }

  // Turns the event loop until `done()` or `deadline` passes; returns done().
  bool wait_until(const std::function<bool()>& done, kj::Duration deadline = 30 * kj::SECONDS) {
    const kj::TimePoint end = timer().now() + deadline;
    while (!done()) {
      if (timer().now() >= end) return false;
      timer().afterDelay(5 * kj::MILLISECONDS).wait(wait_scope());
    }
    return true;
  }
  // Turns the loop for `duration` (to let background work run; never asserted on).
  void run_for(kj::Duration duration) { timer().afterDelay(duration).wait(wait_scope()); }

  // Every listed node holds `points` points and all have one digest.
  bool converged(const std::vector<crdt::ReplicaId>& ids, size_t points) {
    std::optional<crdt::StateDigest> first;
    for (crdt::ReplicaId id : ids) {
      const crdt::PointSet& state = node(id).store->state();
      if (state.records().size() != points) return false;
      const crdt::StateDigest d = crdt::digest(state);
      if (first && d != *first) return false;
      first = d;
    }
    return true;
  }

 private:
  kj::AsyncIoContext& io_;
  std::map<crdt::ReplicaId, std::unique_ptr<RpcNode>> nodes_;
};

}  // namespace meridian::replication::testing
