// Tests of replication/shard_replicator.h with a recording Env: window and back-pressure bounds,
// anti-entropy sending exactly the missing deltas, ack/compaction interplay, full-state transfer
// with resume, reconnect backoff, and rejection of bad input.
#include "replication/shard_replicator.h"

#include <gtest/gtest.h>

#include <random>

#include "crdt/point_set_codec.h"
#include "replication/memory_shard_store.h"
#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

struct RecordingEnv final : Env {
  int64_t now = 1000;
  std::mt19937_64 rng{5};
  std::vector<std::pair<crdt::ReplicaId, PeerMessage>> sent;
  std::vector<std::pair<int64_t, TimerEvent>> timers;
  std::vector<crdt::ReplicaId> connects;

  int64_t now_ms() override { return now; }
  uint64_t random_u64() override { return rng(); }
  void send(crdt::ReplicaId to, PeerMessage m) override { sent.emplace_back(to, std::move(m)); }
  void schedule(int64_t delay, TimerEvent e) override { timers.emplace_back(delay, e); }
  void connect(crdt::ReplicaId peer) override { connects.push_back(peer); }

  template <typename T>
  std::vector<T> take(crdt::ReplicaId to) {
    std::vector<T> out;
    for (auto& [dest, m] : sent) {
      if (dest == to && std::holds_alternative<T>(m.body)) out.push_back(std::get<T>(m.body));
    }
    return out;
  }
};

// One replica (id 1) with its store, env and replicator, peers 2 and 3.
struct Fixture {
  explicit Fixture(ReplicatorOptions o = {}, std::vector<crdt::ReplicaId> peers = {2}) {
    o.shard = shard;
    replicator = std::make_unique<ShardReplicator>(1, o, store, env, metrics);
    replicator->start(peers);
  }
  // Connects `peer` and feeds its Hello saying it joined our log through `joined`.
  void establish(crdt::ReplicaId peer, uint64_t joined = 0) {
    replicator->on_connected(peer);
    hello_from(peer, joined);
  }
  void hello_from(crdt::ReplicaId peer, uint64_t joined,
                  std::optional<TransferResume> resume = std::nullopt) {
    replicator->on_message(PeerMessage{shard, peer, Hello{"r", joined, {}, resume, false, 0}});
  }
  uint64_t write(const std::string& id, size_t dim = 2) {
    auto d = store.replica().upsert(id, std::vector<float>(dim, 1.0f), {}, {++clock, 0});
    const uint64_t seq = store.commit_local(d);
    deltas.push_back(d);
    replicator->on_local_commit(seq);
    return seq;
  }
  void ack(crdt::ReplicaId peer, uint64_t seq) {
    replicator->on_message(PeerMessage{shard, peer, DeltaAck{seq}});
  }

  ShardRef shard{"c", 1};
  MemoryShardStore store{1};
  RecordingEnv env;
  ReplicationMetrics metrics;
  std::unique_ptr<ShardReplicator> replicator;
  std::vector<crdt::PointSet> deltas;
  uint64_t clock = 0;
};

TEST(ShardReplicatorTest, StartConnectsToEveryPeerAndSchedulesATick) {
  Fixture f({}, {2, 3});
  EXPECT_EQ(f.env.connects, (std::vector<crdt::ReplicaId>{2, 3}));
  ASSERT_EQ(f.env.timers.size(), 1u);
  EXPECT_EQ(f.env.timers[0].second.kind, TimerEvent::Kind::kTick);
  EXPECT_GE(f.env.timers[0].first, 750);
  EXPECT_LE(f.env.timers[0].first, 1250);
}

TEST(ShardReplicatorTest, NothingStreamsBeforeTheSessionIsEstablished) {
  Fixture f;
  f.write("a");
  f.replicator->on_connected(2);
  EXPECT_TRUE(f.env.take<DeltaInterval>(2).empty());
  ASSERT_EQ(f.env.take<Hello>(2).size(), 1u);
  EXPECT_TRUE(f.env.take<Hello>(2)[0].want_reply);
  f.hello_from(2, 0);
  EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), 1u);
}

TEST(ShardReplicatorTest, WindowBoundsIntervalsInFlight) {
  ReplicatorOptions o;
  o.max_in_flight = 2;
  Fixture f(o);
  f.establish(2);
  for (int i = 0; i < 10; ++i) f.write("p" + std::to_string(i));
  auto sent = f.env.take<DeltaInterval>(2);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_GT(f.metrics.peers[2].backpressure_waits, 0u);
  EXPECT_EQ(f.metrics.peers[2].lag_deltas, 10u);
  // An ack frees the window: the next interval starts where the last one in flight ended (no
  // delta is sent twice) and covers everything written since.
  f.ack(2, sent[0].through_seq);
  sent = f.env.take<DeltaInterval>(2);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].after_seq, sent[1].through_seq);
  EXPECT_EQ(sent[2].through_seq, 10u);
}

TEST(ShardReplicatorTest, ByteBudgetLetsOnlyOneLargeIntervalThrough) {
  ReplicatorOptions o;
  o.max_in_flight = 8;
  o.max_bytes_in_flight = 100;
  Fixture f(o);
  f.establish(2);
  f.write("a", 64);  // ~256 bytes of floats: over budget alone, but goes out alone
  f.write("b", 64);
  EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), 1u);
}

TEST(ShardReplicatorTest, AntiEntropySendsExactlyTheMissingDeltas) {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.write("p" + std::to_string(i));
  f.replicator->on_connected(2);
  f.env.sent.clear();
  // The peer says (in its exchange) it has joined our log through 3.
  f.hello_from(2, 3);
  auto sent = f.env.take<DeltaInterval>(2);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].after_seq, 3u);
  EXPECT_EQ(sent[0].through_seq, 5u);
  crdt::PointSet expected;
  expected.join(f.deltas[3]);
  expected.join(f.deltas[4]);
  EXPECT_EQ(sent[0].delta, crdt::encode_point_set(expected));
  // An exchange that changes nothing sends nothing new.
  f.env.sent.clear();
  f.replicator->on_message(PeerMessage{f.shard, 2, Exchange{3, {}, true}});
  EXPECT_TRUE(f.env.take<DeltaInterval>(2).empty());
  EXPECT_EQ(f.env.take<Exchange>(2).size(), 1u);  // the reply it asked for
}

// What the peer says it holds (the vv of its Hello, then of each Exchange) is kept in its metrics:
// a shard hand-off waits until it covers our state.
TEST(ShardReplicatorTest, PeerCausalTokenIsKeptFromHelloAndExchange) {
  Fixture f;
  EXPECT_TRUE(f.metrics.peers[2].vv.empty());
  crdt::VersionVector hello_vv;
  hello_vv.include({2, 3});
  f.replicator->on_connected(2);
  f.replicator->on_message(PeerMessage{f.shard, 2, Hello{"r", 0, hello_vv, {}, false, 0}});
  EXPECT_EQ(f.metrics.peers[2].vv, hello_vv);
  crdt::VersionVector exchange_vv = hello_vv;
  exchange_vv.include({1, 4});
  f.replicator->on_message(PeerMessage{f.shard, 2, Exchange{0, exchange_vv, false}});
  EXPECT_EQ(f.metrics.peers[2].vv, exchange_vv);
  // A message from an unknown peer changes nothing.
  f.replicator->on_message(PeerMessage{f.shard, 9, Exchange{0, hello_vv, false}});
  EXPECT_EQ(f.metrics.peers[2].vv, exchange_vv);
  EXPECT_FALSE(f.metrics.peers.contains(9));
}

TEST(ShardReplicatorTest, AcksFromEveryPeerCompactTheLog) {
  Fixture f({}, {2, 3});
  f.establish(2);
  f.establish(3);
  f.write("a");
  f.write("b");
  f.ack(2, 2);
  EXPECT_EQ(f.store.log().size(), 2u);  // peer 3 has not acknowledged
  f.ack(3, 1);
  EXPECT_EQ(f.store.log().size(), 1u);
  f.ack(3, 2);
  EXPECT_EQ(f.store.log().size(), 0u);
  EXPECT_EQ(f.metrics.compacted, 2u);
  EXPECT_EQ(f.metrics.peers[3].lag_deltas, 0u);
  f.ack(3, 99);  // beyond our log: ignored, no crash
  EXPECT_EQ(*f.store.log().acked(3), 2u);
}

TEST(ShardReplicatorTest, LostIntervalIsResentAfterTheAckTimeout) {
  ReplicatorOptions o;
  o.ack_timeout_ms = 500;
  Fixture f(o);
  f.establish(2);
  f.write("a");
  f.env.sent.clear();
  f.env.now += 600;
  f.replicator->on_timer(TimerEvent{TimerEvent::Kind::kTick, 0, 0});
  EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), 1u);
  EXPECT_EQ(f.metrics.peers[2].retransmits, 1u);
}

TEST(ShardReplicatorTest, PeerBehindTheHorizonGetsAChunkedFullStateAndResumes) {
  ReplicatorOptions o;
  o.max_chunk_bytes = 40;
  o.max_in_flight = 1;
  Fixture a(o, {2});
  for (int i = 0; i < 30; ++i) a.write("p" + std::to_string(10 + i));
  // The log restarts without entries (as after a crash): the peer is behind the horizon.
  auto restarted = MemoryShardStore::recover(1, a.store.durable());
  MERIDIAN_ASSERT_OK(restarted);
  a.store = *std::move(restarted);
  o.shard = a.shard;
  a.replicator = std::make_unique<ShardReplicator>(1, o, a.store, a.env, a.metrics);
  a.replicator->start({2});

  // B is replica 2 (its own fixture uses id 1 internally, so build it by hand).
  MemoryShardStore b_store(2);
  RecordingEnv b_env;
  ReplicationMetrics b_metrics;
  ReplicatorOptions bo = o;
  bo.shard = a.shard;
  ShardReplicator b(2, bo, b_store, b_env, b_metrics);
  b.start({1});

  a.replicator->on_connected(2);
  b.on_connected(1);
  // Deliver a few rounds only, then cut the connection mid-transfer.
  auto deliver = [&](int rounds) {
    for (int i = 0; i < rounds; ++i) {
      auto from_a = std::move(a.env.sent);
      auto from_b = std::move(b_env.sent);
      a.env.sent.clear();
      b_env.sent.clear();
      for (auto& [to, m] : from_a) b.on_message(m);
      for (auto& [to, m] : from_b) a.replicator->on_message(m);
    }
  };
  deliver(6);
  ASSERT_EQ(a.metrics.peers[2].full_state_transfers, 1u);
  auto partial = b.incoming_transfer(1);
  ASSERT_TRUE(partial.has_value());
  ASSERT_FALSE(partial->next_cursor.empty());
  a.replicator->on_disconnected(2);
  b.on_disconnected(1);
  a.env.sent.clear();
  b_env.sent.clear();

  // Reconnect: B's Hello names the transfer; A continues from B's cursor, not from the start.
  a.replicator->on_connected(2);
  b.on_connected(1);
  deliver(1);
  auto chunks = a.env.take<FullStateChunk>(2);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks[0].cursor, partial->next_cursor);
  deliver(200);
  EXPECT_EQ(a.metrics.peers[2].full_state_transfers, 1u);
  EXPECT_EQ(b_metrics.peers[1].full_states_received, 1u);
  EXPECT_EQ(crdt::digest(b_store.state()), crdt::digest(a.store.state()));
  EXPECT_EQ(*a.store.log().acked(2), a.store.log().last_seq());
  // Writes after the transfer flow as intervals again.
  a.write("zz");
  deliver(5);
  EXPECT_EQ(crdt::digest(b_store.state()), crdt::digest(a.store.state()));
}

TEST(ShardReplicatorTest, DisconnectSchedulesJitteredBackoffAndStaleTimersAreIgnored) {
  ReplicatorOptions o;
  o.backoff = BackoffPolicy{100, 1000, 2};
  Fixture f(o);
  f.env.timers.clear();
  f.env.connects.clear();
  f.replicator->on_disconnected(2);
  ASSERT_EQ(f.env.timers.size(), 1u);
  EXPECT_GE(f.env.timers[0].first, 50);
  EXPECT_LE(f.env.timers[0].first, 100);
  const TimerEvent first = f.env.timers[0].second;
  f.replicator->on_disconnected(2);  // the retry failed too: longer ceiling
  EXPECT_GE(f.env.timers[1].first, 100);
  EXPECT_LE(f.env.timers[1].first, 200);
  f.replicator->on_timer(first);  // stale generation
  EXPECT_TRUE(f.env.connects.empty());
  f.replicator->on_timer(f.env.timers[1].second);
  EXPECT_EQ(f.env.connects, (std::vector<crdt::ReplicaId>{2}));
}

TEST(ShardReplicatorTest, LongDeadPeerIsDetachedSoTheLogCompacts) {
  ReplicatorOptions o;
  o.detach_after_ms = 5000;
  Fixture f(o, {2, 3});
  f.establish(3);
  f.write("a");
  f.ack(3, 1);
  EXPECT_EQ(f.store.log().size(), 1u);  // peer 2 (never connected) pins it
  f.env.now += 6000;
  f.replicator->on_timer(TimerEvent{TimerEvent::Kind::kTick, 0, 0});
  EXPECT_EQ(f.store.log().size(), 0u);
  EXPECT_EQ(f.metrics.detached_peers, 1u);
  // When it returns it is behind the horizon: a full-state transfer starts.
  f.establish(2, 0);
  EXPECT_FALSE(f.env.take<FullStateChunk>(2).empty());
}

TEST(ShardReplicatorTest, BadInputIsCountedAndDropped) {
  Fixture f;
  f.establish(2);
  f.replicator->on_message(PeerMessage{ShardRef{"other", 1}, 2, DeltaAck{1}});
  f.replicator->on_message(PeerMessage{f.shard, 42, DeltaAck{1}});
  f.replicator->on_message(PeerMessage{f.shard, 2, DeltaInterval{0, 1, "garbage"}});
  f.replicator->on_message(PeerMessage{f.shard, 2, FullStateChunk{9, 1, "", "", true, "x", "y"}});
  EXPECT_EQ(f.metrics.rejected_messages, 4u);
  EXPECT_TRUE(f.env.take<DeltaAck>(2).empty());
}

// The kResend timers scheduled so far (delay, event), in order.
std::vector<std::pair<int64_t, TimerEvent>> resend_timers(const RecordingEnv& env) {
  std::vector<std::pair<int64_t, TimerEvent>> out;
  for (const auto& t : env.timers) {
    if (t.second.kind == TimerEvent::Kind::kResend) out.push_back(t);
  }
  return out;
}

TEST(ShardReplicatorTest, PermanentlyRejectedIntervalIsQuarantinedAndNotResent) {
  ReplicatorOptions o;
  std::vector<std::pair<crdt::ReplicaId, std::string>> told;
  o.on_quarantine = [&](crdt::ReplicaId peer, const std::string& reason) {
    told.emplace_back(peer, reason);
  };
  Fixture f(o);
  f.establish(2);
  f.write("a");
  ASSERT_EQ(f.env.take<DeltaInterval>(2).size(), 1u);
  const DeltaReject invalid{0, 1, true, "remote delta: dimension 2, expected 3"};
  for (size_t round = 1; round <= 2; ++round) {
    f.replicator->on_message(PeerMessage{f.shard, 2, invalid});
    // Not resent at once: after a backoff pause, when its timer fires.
    EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), round);
    auto timers = resend_timers(f.env);
    ASSERT_EQ(timers.size(), round);
    f.env.now += timers.back().first;
    f.replicator->on_timer(timers.back().second);
    EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), round + 1);
    EXPECT_FALSE(f.metrics.peers[2].quarantined);
  }
  // The third reject in a row: quarantined, told once, no resend scheduled.
  f.replicator->on_message(PeerMessage{f.shard, 2, invalid});
  EXPECT_TRUE(f.metrics.peers[2].quarantined);
  EXPECT_EQ(f.metrics.peers[2].quarantine_reason, invalid.reason);
  EXPECT_EQ(f.metrics.peers[2].rejects_received, 3u);
  EXPECT_EQ(f.metrics.quarantines, 1u);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], std::make_pair(crdt::ReplicaId{2}, invalid.reason));
  EXPECT_EQ(resend_timers(f.env).size(), 2u);
  // Nothing more goes to the peer: not on ticks past the ack timeout, not for new writes, not
  // after a reconnect; anti-entropy exchanges still go (its stream to us is not affected).
  const size_t sent = f.env.take<DeltaInterval>(2).size();
  for (int i = 0; i < 5; ++i) {
    f.env.now += 10'000;
    f.write("b" + std::to_string(i));
    f.replicator->on_timer(TimerEvent{TimerEvent::Kind::kTick, 0, 0});
  }
  f.replicator->on_disconnected(2);
  f.establish(2);
  f.replicator->on_message(PeerMessage{f.shard, 2, invalid});
  EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), sent);
  EXPECT_FALSE(f.env.take<Exchange>(2).empty());
  EXPECT_EQ(told.size(), 1u);
  EXPECT_EQ(f.metrics.peers[2].lag_deltas, 6u);
  // The peer joined past the interval some other way (e.g. it was repaired and restarted):
  // the quarantine ends and the stream goes on from its acknowledgement.
  f.ack(2, 1);
  EXPECT_FALSE(f.metrics.peers[2].quarantined);
  auto resumed = f.env.take<DeltaInterval>(2);
  ASSERT_GT(resumed.size(), sent);
  EXPECT_EQ(resumed.back().after_seq, 1u);
}

TEST(ShardReplicatorTest, TransientRejectsBackOffAndTheIntervalStillGoesThrough) {
  Fixture f;
  f.establish(2);
  f.write("a");
  ASSERT_EQ(f.env.take<DeltaInterval>(2).size(), 1u);
  const DeltaReject busy{0, 1, false, "storage: environment busy"};
  for (size_t round = 1; round <= 6; ++round) {
    f.replicator->on_message(PeerMessage{f.shard, 2, busy});
    auto timers = resend_timers(f.env);
    ASSERT_EQ(timers.size(), round);
    f.env.now += timers.back().first;
    f.replicator->on_timer(timers.back().second);
    EXPECT_EQ(f.env.take<DeltaInterval>(2).size(), round + 1);
  }
  EXPECT_FALSE(f.metrics.peers[2].quarantined);
  EXPECT_EQ(f.metrics.quarantines, 0u);
  // Exponential backoff (BackoffPolicy defaults: ceilings 100, 200, 400, ... ms; each delay in
  // [ceiling / 2, ceiling]).
  auto timers = resend_timers(f.env);
  EXPECT_LE(timers[0].first, 100);
  EXPECT_GE(timers[3].first, 400);
  // Mixed with transient rejects, permanent ones must come in a row to quarantine.
  const DeltaReject invalid{0, 1, true, "bad"};
  for (const DeltaReject& r : {invalid, invalid, busy, invalid, invalid}) {
    f.replicator->on_message(PeerMessage{f.shard, 2, r});
  }
  EXPECT_FALSE(f.metrics.peers[2].quarantined);
  // The peer recovers and joins the interval: the stream goes on at once, without a pause.
  f.ack(2, 1);
  f.env.sent.clear();
  f.write("b");
  auto next = f.env.take<DeltaInterval>(2);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].after_seq, 1u);
}

// A store whose apply fails with a chosen status (a node that finds a delta invalid, or whose
// storage is briefly unavailable).
class FailingStore final : public ShardStore {
 public:
  const crdt::PointSet& state() const override { return inner.state(); }
  crdt::DeltaLog& log() override { return inner.log(); }
  absl::Status apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                     std::optional<uint64_t> seq) override {
    if (!failure.ok()) return failure;
    return inner.apply(peer, delta, seq);
  }
  uint64_t joined_through(crdt::ReplicaId peer) const override {
    return inner.joined_through(peer);
  }
  MemoryShardStore inner{5};
  absl::Status failure;
};

TEST(ShardReplicatorTest, ReceiverRejectsWhatItCannotJoinSayingWhetherItIsPermanent) {
  FailingStore store;
  RecordingEnv env;
  ReplicationMetrics metrics;
  ReplicatorOptions o;
  o.shard = {"c", 1};
  ShardReplicator receiver(5, o, store, env, metrics);
  receiver.start({2});
  receiver.on_connected(2);
  receiver.on_message(PeerMessage{o.shard, 2, Hello{"r", 0, {}, std::nullopt, false, 0}});
  crdt::PointReplica sender(2);
  const std::string delta = crdt::encode_point_set(
      sender.upsert(std::string("p"), std::vector<float>(2, 1.0f), {}, {1, 0}));
  auto deliver = [&] {
    env.sent.clear();
    receiver.on_message(PeerMessage{o.shard, 2, DeltaInterval{0, 1, delta}});
  };
  store.failure = absl::InvalidArgumentError("remote delta: dimension 2, expected 3");
  deliver();
  auto rejects = env.take<DeltaReject>(2);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0], (DeltaReject{0, 1, true, "remote delta: dimension 2, expected 3"}));
  EXPECT_TRUE(env.take<DeltaAck>(2).empty());
  store.failure = absl::UnavailableError("storage busy");
  deliver();
  rejects = env.take<DeltaReject>(2);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_FALSE(rejects[0].permanent);
  EXPECT_EQ(metrics.rejects_sent, 2u);
  store.failure = absl::OkStatus();
  deliver();
  EXPECT_TRUE(env.take<DeltaReject>(2).empty());
  ASSERT_EQ(env.take<DeltaAck>(2).size(), 1u);
  EXPECT_EQ(env.take<DeltaAck>(2)[0].through_seq, 1u);
}

}  // namespace
}  // namespace meridian::replication
