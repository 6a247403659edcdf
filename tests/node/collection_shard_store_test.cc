// Integration tests of CollectionShardStore: real Nodes on real LMDB stores in temporary
// directories, each collection replicated by a replication::ShardHost of a ReplicationEndpoint,
// all on one KJ event loop over 127.0.0.1. Upserts, payload changes and deletes become searchable
// everywhere; concurrent upsert/delete converge (add-wins) to one digest; a replica restarted from
// its store resumes from its durable joined-through without a full state; a brand-new replica
// behind the compacted horizon gets a full state; the stored log is trimmed once every peer
// acknowledged; a failed or impossible apply leaves nothing applied and replication recovers.
#include "node/collection_shard_store.h"

#include <kj/async-io.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/node.h"
#include "replication/rpc_dialer.h"
#include "replication/rpc_endpoint.h"
#include "tests/node/failing_sealer.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using ::meridian::testing::TempDir;
using storage::PointRecord;

const std::string kCollection = "docs";
constexpr uint32_t kDim = 4;

replication::ReplicatorOptions fast_options() {
  replication::ReplicatorOptions o;
  o.shard = replication::ShardRef{kCollection, 0};
  o.region = "test";
  o.tick_ms = 50;
  o.ack_timeout_ms = 300;
  o.backoff = replication::BackoffPolicy{50, 300, 2};
  return o;
}

std::vector<float> vec(uint64_t id, float tag) { return {float(id), tag, 0.5f, 1.0f}; }

// One node: its store and Node (reopened on restart from the same directory), its collection's
// shard store and the replication endpoint serving it.
struct Member {
  std::string name;
  TempDir dir;
  FailingSealer sealer;
  uint64_t mint_base = 0;
  uint64_t minted = 0;
  crdt::ReplicaId id = 0;  // the collection's replica id: the shard replica's id
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<Node> node;
  std::unique_ptr<CollectionShardStore> shard;
  std::unique_ptr<replication::NetworkDialer> dialer;
  std::unique_ptr<replication::ReplicationEndpoint> endpoint;
  replication::ShardHost* host = nullptr;

  uint32_t collection_id() { return node->collection_info(kCollection)->stored.id; }
  uint64_t stored_log_entries() { return store->log_entry_count(collection_id()).value(); }
  uint64_t count() { return node->count(kCollection).value_or(0); }
  std::string digest() {
    auto info = node->collection_info(kCollection);
    return info.ok() ? info->digest : "";
  }
  std::optional<PointRecord> get(uint64_t id) {
    auto got = node->get(kCollection, std::vector<PointId>{PointId::number(id)});
    return got.ok() ? (*got)[0] : std::nullopt;
  }
  // The ids of the nearest points to `query` (all matching `filter`).
  std::vector<uint64_t> search(std::vector<float> query, uint32_t k,
                               const std::string& filter = "") {
    SearchParams params;
    params.k = k;
    params.filter_json = filter;
    auto hits = node->search(kCollection, query, params);
    std::vector<uint64_t> out;
    if (hits.ok()) {
      for (const auto& h : (*hits)[0]) out.push_back(h.id.as_number());
    }
    return out;
  }
  absl::Status upsert(const std::vector<uint64_t>& ids, float tag) {
    std::vector<PointRecord> points;
    for (uint64_t id : ids) {
      points.push_back({PointId::number(id), vec(id, tag), absl::StrCat(R"({"tag":)", tag, "}")});
    }
    return node->upsert(kCollection, std::move(points)).status();
  }
  absl::Status remove(const std::vector<uint64_t>& ids) {
    std::vector<PointId> points;
    for (uint64_t id : ids) points.push_back(PointId::number(id));
    return node->remove(kCollection, points).status();
  }
  const replication::PeerMetrics& metrics_of(crdt::ReplicaId peer) {
    static const replication::PeerMetrics kNone;
    auto it = host->metrics().peers.find(peer);
    return it == host->metrics().peers.end() ? kNone : it->second;
  }
};

std::vector<uint64_t> range(uint64_t first, uint64_t end) {
  std::vector<uint64_t> out;
  for (uint64_t i = first; i < end; ++i) out.push_back(i);
  return out;
}

// Not thread-safe: everything (node writes, replication) runs on the test thread, which turns the
// KJ loop only inside wait_until / run_for; writes made between two turns are concurrent.
class Cluster {
 public:
  explicit Cluster(kj::AsyncIoContext& io) : io_(io) {}
  ~Cluster() {
    for (auto& [name, m] : members_) close(*m);
  }

  kj::Timer& timer() { return io_.provider->getTimer(); }

  // A new member with an empty collection, serving it on a fresh port (not started).
  Member& add(const std::string& name) {
    auto m = std::make_unique<Member>();
    m->name = name;
    m->mint_base = (members_.size() + 1) * 1000;
    Member& ref = *m;
    members_[name] = std::move(m);
    open(ref);
    return ref;
  }

  // Opens the member's store and node (creating the collection when new) and serves it.
  void open(Member& m) {
    storage::StoreOptions store_options;
    store_options.node_id_if_new = m.name;
    store_options.map_size_bytes = size_t{1} << 30;
    auto store = storage::Store::open(m.dir.path(), m.sealer, store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    m.store = std::move(*store);
    NodeOptions options;
    options.mint_replica_id = [&m] { return m.mint_base + ++m.minted; };
    options.retain_delta_log = true;
    options.index_build_threads = 1;
    options.on_local_commit = [&m](const std::string& collection, uint64_t seq) {
      if (m.host != nullptr && collection == kCollection) m.host->on_local_commit(seq);
    };
    auto node = Node::open(*m.store, std::move(options));
    ASSERT_TRUE(node.ok()) << node.status();
    m.node = std::move(*node);
    if (!m.node->collection_info(kCollection).ok()) {
      ASSERT_TRUE(
          m.node->create_collection({kCollection, kDim, Metric::kL2, IndexKind::kFlat}).ok());
    }
    auto shard = CollectionShardStore::create(*m.node, kCollection);
    ASSERT_TRUE(shard.ok()) << shard.status();
    m.shard = std::move(*shard);
    m.id = m.shard->replica_id();
    m.dialer = std::make_unique<replication::NetworkDialer>(io_.provider->getNetwork());
    m.endpoint = std::make_unique<replication::ReplicationEndpoint>(timer(), *m.dialer);
    m.endpoint->listen(
        io_.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(io_.waitScope)->listen());
    m.host = &m.endpoint->add_shard(m.id, fast_options(), *m.shard, m.mint_base);
    publish_addresses();
  }

  // A crash-like stop: the endpoint goes (sessions drop), then the node and store close.
  void close(Member& m) {
    m.host = nullptr;
    m.endpoint.reset();
    m.dialer.reset();
    m.shard.reset();
    m.node.reset();
    m.store.reset();
  }

  // Starts replicating `m` with every other member (or `peers`).
  void start(Member& m, std::vector<Member*> peers = {}) {
    if (peers.empty()) {
      for (auto& [name, other] : members_) {
        if (other.get() != &m) peers.push_back(other.get());
      }
    }
    std::vector<crdt::ReplicaId> ids;
    for (Member* p : peers) ids.push_back(p->id);
    m.host->start(ids);
  }

  void publish_addresses() {
    for (auto& [from, a] : members_) {
      if (!a->dialer) continue;
      for (auto& [to, b] : members_) {
        if (a != b && b->endpoint) {
          a->dialer->set_address(b->id, absl::StrCat("127.0.0.1:", b->endpoint->port()));
        }
      }
    }
  }

  // Turns the event loop until `done()` or `deadline` passes; returns done().
  bool wait_until(const std::function<bool()>& done, kj::Duration deadline = 15 * kj::SECONDS) {
    const kj::TimePoint end = timer().now() + deadline;
    while (!done()) {
      if (timer().now() >= end) return false;
      timer().afterDelay(5 * kj::MILLISECONDS).wait(io_.waitScope);
    }
    return true;
  }
  // Turns the loop for `duration` (lets background work run; nothing waits on it).
  void run_for(kj::Duration duration) { timer().afterDelay(duration).wait(io_.waitScope); }

  // Every listed member holds `points` points and all have one digest.
  static bool converged(const std::vector<Member*>& members, uint64_t points) {
    for (Member* m : members) {
      if (m->count() != points || m->digest() != members.front()->digest()) return false;
    }
    return true;
  }

 private:
  kj::AsyncIoContext& io_;
  std::map<std::string, std::unique_ptr<Member>> members_;
};

TEST(CollectionShardStoreTest, WritesDeletesAndConcurrentWritesConvergeOverRpc) {
  auto io = kj::setupAsyncIo();
  Cluster cluster(io);
  Member& a = cluster.add("a");
  Member& b = cluster.add("b");
  Member& c = cluster.add("c");
  for (Member* m : {&a, &b, &c}) cluster.start(*m);
  std::vector<Member*> all{&a, &b, &c};

  for (uint64_t batch = 0; batch < 3; ++batch) {
    MERIDIAN_ASSERT_OK(a.upsert(range(batch * 10, batch * 10 + 10), 0));
  }
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged(all, 30); }));
  for (Member* m : {&b, &c}) {
    EXPECT_EQ(m->search(vec(7, 0), 1), std::vector<uint64_t>{7}) << m->name;
    EXPECT_EQ(m->get(5)->payload_json, R"({"tag":0})") << m->name;
  }

  // Payload-only changes reach the other replicas' payload indexes.
  MERIDIAN_ASSERT_OK(
      a.node->set_payload(kCollection, std::vector<PointId>{PointId::number(3), PointId::number(4)},
                          R"({"hot":true})"));
  const std::string hot = R"({"must":[{"key":"hot","match":{"value":true}}]})";
  ASSERT_TRUE(cluster.wait_until([&] {
    return b.search(vec(0, 0), 10, hot) == std::vector<uint64_t>{3, 4} &&
           c.search(vec(0, 0), 10, hot) == std::vector<uint64_t>{3, 4};
  }));

  // Deletes propagate.
  MERIDIAN_ASSERT_OK(a.remove(range(20, 30)));
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged(all, 20); }));
  EXPECT_FALSE(c.get(25).has_value());
  EXPECT_EQ(c.search(vec(25, 0), 1), std::vector<uint64_t>{19});

  // Concurrent writes (no loop turn between them, so neither side has seen the other's): an
  // upsert wins over a concurrent delete of the same ids, on every replica.
  MERIDIAN_ASSERT_OK(a.remove(range(10, 15)));
  MERIDIAN_ASSERT_OK(b.upsert(range(10, 15), 2));
  MERIDIAN_ASSERT_OK(b.remove(range(15, 20)));
  MERIDIAN_ASSERT_OK(a.upsert(range(15, 20), 1));
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged(all, 20); }))
      << a.count() << " " << b.count() << " " << c.count();
  for (Member* m : all) {
    EXPECT_EQ(m->get(12)->vector, vec(12, 2)) << m->name;
    EXPECT_EQ(m->get(17)->vector, vec(17, 1)) << m->name;
    EXPECT_EQ(m->search(vec(17, 1), 1), std::vector<uint64_t>{17}) << m->name;
  }
  const std::string digest = a.digest();
  EXPECT_EQ(b.node->collection_info(kCollection)->digest, digest);
  EXPECT_EQ(c.node->collection_info(kCollection)->digest, digest);
}

TEST(CollectionShardStoreTest, RestartedReplicaResumesFromItsDurableJoinedThrough) {
  auto io = kj::setupAsyncIo();
  Cluster cluster(io);
  Member& a = cluster.add("a");
  Member& b = cluster.add("b");
  Member& c = cluster.add("c");
  for (Member* m : {&a, &b, &c}) cluster.start(*m);
  std::vector<Member*> all{&a, &b, &c};

  MERIDIAN_ASSERT_OK(a.upsert(range(0, 20), 0));
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged(all, 20); }));
  // Mid-stream: many small writes, and B stops once it has joined some of them.
  for (uint64_t i = 20; i < 60; ++i) MERIDIAN_ASSERT_OK(a.upsert({i}, 0));
  ASSERT_TRUE(cluster.wait_until([&] { return b.count() > 20; }));
  const uint64_t joined = b.node->joined_through(kCollection, a.id).value();
  EXPECT_GT(joined, 0u);
  const crdt::ReplicaId b_id = b.id;
  cluster.close(b);

  MERIDIAN_ASSERT_OK(a.upsert(range(100, 110), 1));
  MERIDIAN_ASSERT_OK(c.upsert(range(200, 210), 3));
  MERIDIAN_ASSERT_OK(c.remove(range(0, 5)));
  cluster.run_for(100 * kj::MILLISECONDS);

  cluster.open(b);  // same directory: same replica id, a new port
  ASSERT_EQ(b.id, b_id);
  EXPECT_EQ(b.node->joined_through(kCollection, a.id).value(), joined);
  cluster.start(b);
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged(all, 75); }))
      << a.count() << " " << b.count() << " " << c.count();
  EXPECT_EQ(b.search(vec(205, 3), 1), std::vector<uint64_t>{205});
  EXPECT_FALSE(b.get(2).has_value());
  // B may converge through C before A's session to it resumes (A's reconnect backoff): wait for
  // A's own stream to move past the durable position too.
  ASSERT_TRUE(cluster.wait_until(
      [&] { return b.node->joined_through(kCollection, a.id).value() > joined; }));
  // Streaming resumed from the durable positions: the peers kept their log entries for B and
  // sent them as intervals, never a full state.
  EXPECT_EQ(a.metrics_of(b.id).full_state_transfers, 0u);
  EXPECT_EQ(c.metrics_of(b.id).full_state_transfers, 0u);
  EXPECT_EQ(b.metrics_of(a.id).full_states_received + b.metrics_of(c.id).full_states_received, 0u);
}

TEST(CollectionShardStoreTest, NewReplicaBehindTheCompactedHorizonGetsAFullState) {
  auto io = kj::setupAsyncIo();
  Cluster cluster(io);
  Member& a = cluster.add("a");
  Member& b = cluster.add("b");
  cluster.start(a);
  cluster.start(b);
  MERIDIAN_ASSERT_OK(a.upsert(range(0, 20), 0));
  MERIDIAN_ASSERT_OK(b.upsert(range(20, 25), 1));
  MERIDIAN_ASSERT_OK(a.remove(range(0, 3)));
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged({&a, &b}, 22); }));
  // Every delta acknowledged: the logs are compacted, in memory and in the store.
  ASSERT_TRUE(cluster.wait_until([&] {
    return a.shard->log().size() == 0 && b.shard->log().size() == 0 &&
           a.stored_log_entries() == 0 && b.stored_log_entries() == 0;
  }));
  EXPECT_GT(a.shard->log().horizon(), 0u);

  Member& d = cluster.add("d");  // a brand-new, empty replica
  a.host->add_peer(d.id);
  b.host->add_peer(d.id);
  cluster.start(d);
  ASSERT_TRUE(cluster.wait_until([&] {
    return Cluster::converged({&a, &b, &d}, 22);
  })) << d.count();
  EXPECT_GE(a.metrics_of(d.id).full_state_transfers + b.metrics_of(d.id).full_state_transfers, 1u);
  EXPECT_GE(d.metrics_of(a.id).full_states_received + d.metrics_of(b.id).full_states_received, 1u);
  EXPECT_EQ(d.search(vec(22, 1), 1), std::vector<uint64_t>{22});
  EXPECT_FALSE(d.get(1).has_value());
  // And D is a full member: its writes reach the others.
  MERIDIAN_ASSERT_OK(d.upsert({500}, 4));
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged({&a, &b, &d}, 23); }));
}

TEST(CollectionShardStoreTest, StoredLogIsKeptUntilEveryPeerAcknowledgedThenTrimmed) {
  auto io = kj::setupAsyncIo();
  Cluster cluster(io);
  Member& a = cluster.add("a");
  Member& b = cluster.add("b");
  Member& c = cluster.add("c");
  cluster.start(a);  // B and C do not serve the shard yet: A's sessions are refused
  for (uint64_t i = 0; i < 10; ++i) MERIDIAN_ASSERT_OK(a.upsert({i}, 0));
  cluster.run_for(200 * kj::MILLISECONDS);
  EXPECT_EQ(a.shard->log().size(), 10u);
  EXPECT_EQ(a.stored_log_entries(), 10u);

  cluster.start(b);
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged({&a, &b}, 10); }));
  cluster.run_for(200 * kj::MILLISECONDS);
  // B acknowledged, C has not: nothing may go yet.
  EXPECT_EQ(a.shard->log().size(), 10u);
  EXPECT_EQ(a.stored_log_entries(), 10u);

  cluster.start(c);
  ASSERT_TRUE(cluster.wait_until([&] {
    return Cluster::converged({&a, &b, &c}, 10) && a.shard->log().size() == 0 &&
           a.stored_log_entries() == 0 && b.stored_log_entries() == 0 &&
           c.stored_log_entries() == 0;
  })) << a.shard->log().size()
      << " " << a.stored_log_entries() << " " << b.stored_log_entries() << " "
      << c.stored_log_entries();
  EXPECT_EQ(a.shard->log().horizon(), 10u);
}

TEST(CollectionShardStoreTest, FailedAppliesLeaveNothingAppliedAndReplicationRecovers) {
  auto io = kj::setupAsyncIo();
  Cluster cluster(io);
  Member& a = cluster.add("a");
  Member& b = cluster.add("b");
  Member& c = cluster.add("c");
  for (Member* m : {&a, &b, &c}) cluster.start(*m);
  MERIDIAN_ASSERT_OK(a.upsert(range(0, 5), 0));
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged({&a, &b, &c}, 5); }));

  // B's disk fails every write: each apply fails whole, and nothing is acknowledged.
  const std::string digest = b.digest();
  const uint64_t joined = b.node->joined_through(kCollection, a.id).value();
  const uint64_t last_seq = b.shard->log().last_seq();
  const uint64_t entries = b.stored_log_entries();
  b.sealer.fail_all(true);
  MERIDIAN_ASSERT_OK(a.upsert(range(5, 10), 0));
  ASSERT_TRUE(cluster.wait_until([&] { return b.host->metrics().apply_errors >= 2; }));
  EXPECT_EQ(b.count(), 5u);
  EXPECT_EQ(b.digest(), digest);
  EXPECT_EQ(b.node->joined_through(kCollection, a.id).value(), joined);
  // Nothing was logged (entries acknowledged meanwhile may have been trimmed: that writes no
  // value).
  EXPECT_EQ(b.shard->log().last_seq(), last_seq);
  EXPECT_LE(b.stored_log_entries(), entries);
  EXPECT_FALSE(b.get(7).has_value());
  EXPECT_TRUE(b.search(vec(7, 0), 1) != std::vector<uint64_t>{7});
  // The disk recovers: the peers resend from B's last acknowledgement.
  b.sealer.fail_all(false);
  ASSERT_TRUE(cluster.wait_until([&] { return Cluster::converged({&a, &b, &c}, 10); }));

  // C drops the collection while its replica still runs: applies fail (NotFound), nothing
  // crashes, and the others carry on.
  MERIDIAN_ASSERT_OK(c.node->drop_collection(kCollection));
  const uint64_t errors = c.host->metrics().apply_errors;
  MERIDIAN_ASSERT_OK(a.upsert(range(10, 15), 0));
  ASSERT_TRUE(cluster.wait_until([&] {
    return c.host->metrics().apply_errors > errors && Cluster::converged({&a, &b}, 15);
  }));
  MERIDIAN_EXPECT_CODE(c.node->collection_info(kCollection), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace meridian::node
