// Tests of CollectionReplica's replication side over a real LMDB store: apply_remote reports
// exactly the ids it changed (upserts, payload-only changes, observed deletes), records
// joined-through durably, logs what changed the state; the delta log keeps entries until the
// registered peers acknowledge them, survives a restart and is trimmed in the store; a failed
// commit of a remote delta leaves memory and disk as they were.
#include "node/collection_replica.h"

#include <algorithm>
#include <memory>

#include "crdt/point_set_codec.h"
#include "node/payload_fields.h"
#include "tests/node/failing_sealer.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using ::meridian::testing::TempDir;
using storage::PointRecord;

constexpr crdt::ReplicaId kPeer = 0x5eed;

class CollectionReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.node_id_if_new = "n";
    options.map_size_bytes = size_t{1} << 30;
    auto store = storage::Store::open(dir_.path(), sealer_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto c = store_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat});
    ASSERT_TRUE(c.ok()) << c.status();
    collection_id_ = c->id;
    reload();
  }

  ReplicaEnv env() const {
    ReplicaEnv e;
    e.mint_replica_id = [] { return uint64_t{0xabc}; };
    e.physical_clock_ms = [this] { return clock_ms_; };
    e.retain_delta_log = true;
    return e;
  }

  // Drops the in-memory replica and loads it again from the store (a restart).
  void reload() {
    replica_.reset();
    auto r = CollectionReplica::load(*store_, collection_id_, env(), nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    replica_ = std::move(*r);
  }

  std::optional<PointRecord> stored_point(uint64_t id) {
    auto got = store_->get_points(collection_id_, std::vector<PointId>{PointId::number(id)});
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? (*got)[0] : std::nullopt;
  }
  uint64_t stored_log_entries() { return store_->log_entry_count(collection_id_).value(); }

  // A remote replica's write: `remote_` first learns our state (so its deletes observe it).
  crdt::PointSet remote_upsert(uint64_t id, std::vector<float> v, crdt::PayloadFields fields) {
    remote_.apply(replica_->state());
    return remote_.upsert(crdt_id_of(PointId::number(id)), std::move(v), fields,
                          crdt::HlcTimestamp{++remote_ms_, 0});
  }

  TempDir dir_;
  FailingSealer sealer_;
  std::unique_ptr<storage::Store> store_;
  uint32_t collection_id_ = 0;
  uint64_t clock_ms_ = 1'000'000;
  uint64_t remote_ms_ = 2'000'000;
  crdt::PointReplica remote_{kPeer};
  std::unique_ptr<CollectionReplica> replica_;
};

std::vector<uint64_t> numbers(const std::vector<PointId>& ids) {
  std::vector<uint64_t> out;
  for (const auto& id : ids) out.push_back(id.as_number());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> numbers(const std::vector<PointRecord>& points) {
  std::vector<uint64_t> out;
  for (const auto& p : points) out.push_back(p.id.as_number());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(CollectionReplicaTest, ApplyRemoteReportsUpsertsPayloadChangesAndDeletes) {
  crdt::PointSet two = remote_upsert(1, {1, 2}, {{"a", "1"}});
  two.join(remote_upsert(2, {3, 4}, {}));
  auto w = replica_->apply_remote(kPeer, two, 5);
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(w->applied, 2u);
  EXPECT_EQ(numbers(w->upserted), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(w->removed.empty());
  EXPECT_EQ(w->log_seq, 1u);  // it changed the state: logged, so it is forwarded
  EXPECT_EQ(replica_->joined_through(kPeer), 5u);
  EXPECT_EQ(stored_point(1)->payload_json, R"({"a":1})");
  EXPECT_EQ(stored_point(2)->vector, (std::vector<float>{3, 4}));

  // A payload-only change: the point is reported (with its vector) so the index can update.
  remote_.apply(replica_->state());
  auto payload = remote_.set_payload(crdt_id_of(PointId::number(1)), {{"b", "\"x\""}},
                                     crdt::HlcTimestamp{++remote_ms_, 0});
  MERIDIAN_ASSERT_OK(payload);
  w = replica_->apply_remote(kPeer, *payload, 6);
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(numbers(w->upserted), (std::vector<uint64_t>{1}));
  EXPECT_EQ(w->upserted[0].vector, (std::vector<float>{1, 2}));
  EXPECT_EQ(w->upserted[0].payload_json, R"({"a":1,"b":"x"})");
  EXPECT_EQ(stored_point(1)->payload_json, R"({"a":1,"b":"x"})");

  // An observed delete: the delta holds no record of the id, only its dots in the context.
  auto removal = remote_.remove(crdt_id_of(PointId::number(2)));
  MERIDIAN_ASSERT_OK(removal);
  EXPECT_TRUE(removal->records().empty());
  w = replica_->apply_remote(kPeer, *removal, 7);
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(w->applied, 1u);
  EXPECT_TRUE(w->upserted.empty());
  EXPECT_EQ(numbers(w->removed), (std::vector<uint64_t>{2}));
  EXPECT_FALSE(stored_point(2).has_value());
  EXPECT_EQ(replica_->log().last_seq(), 3u);

  // The same delta again changes nothing: no log entry, no slices; a newer peer seq is still
  // recorded, an older one is not.
  w = replica_->apply_remote(kPeer, *removal, 9);
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(w->applied, 0u);
  EXPECT_EQ(w->log_seq, 0u);
  EXPECT_EQ(replica_->log().last_seq(), 3u);
  EXPECT_EQ(replica_->joined_through(kPeer), 9u);
  w = replica_->apply_remote(kPeer, two, 4);
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(w->applied, 0u);
  EXPECT_EQ(replica_->joined_through(kPeer), 9u);
  // Without a seq (a full-state chunk) nothing is recorded for the peer.
  EXPECT_EQ(replica_->joined_through(kPeer + 1), 0u);

  const std::string digest = replica_->digest_hex();
  reload();
  EXPECT_EQ(replica_->digest_hex(), digest);
  EXPECT_EQ(replica_->joined_through(kPeer), 9u);
  EXPECT_EQ(replica_->log().last_seq(), 3u);
  EXPECT_EQ(stored_point(1)->payload_json, R"({"a":1,"b":"x"})");
}

TEST_F(CollectionReplicaTest, ConcurrentRemoteUpsertBeatsLocalDelete) {
  MERIDIAN_ASSERT_OK(replica_->upsert(std::vector<PointRecord>{{PointId::number(1), {1, 1}, ""}}));
  crdt::PointSet upsert = remote_upsert(1, {9, 9}, {});  // observed our version
  // Concurrently, we delete the point (we have not seen the remote upsert).
  auto removed = replica_->remove(std::vector<PointId>{PointId::number(1)});
  MERIDIAN_ASSERT_OK(removed);
  EXPECT_FALSE(stored_point(1).has_value());
  auto w = replica_->apply_remote(kPeer, upsert, 1);
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(numbers(w->upserted), (std::vector<uint64_t>{1}));
  EXPECT_EQ(stored_point(1)->vector, (std::vector<float>{9, 9}));
}

TEST_F(CollectionReplicaTest, LogKeepsUnacknowledgedEntriesAcrossRestartAndTrimsTheStore) {
  replica_->log().add_peer(kPeer, 0);
  for (uint64_t i = 1; i <= 3; ++i) {
    auto w = replica_->upsert(std::vector<PointRecord>{{PointId::number(i), {float(i), 0}, ""}});
    MERIDIAN_ASSERT_OK(w);
    EXPECT_EQ(w->log_seq, i);
  }
  EXPECT_EQ(replica_->log().size(), 3u);
  EXPECT_EQ(stored_log_entries(), 3u);
  auto before = replica_->log().deltas_since(kPeer);
  MERIDIAN_ASSERT_OK(before);

  // Restart: the stored entries come back, so the peer gets deltas, not a full state.
  reload();
  EXPECT_EQ(replica_->log().size(), 3u);
  EXPECT_EQ(replica_->log().last_seq(), 3u);
  EXPECT_EQ(replica_->log().horizon(), 0u);
  replica_->log().add_peer(kPeer, 0);
  auto after = replica_->log().deltas_since(kPeer);
  MERIDIAN_ASSERT_OK(after);
  EXPECT_EQ(after->kind, crdt::OutgoingDeltas::Kind::kDeltas);
  EXPECT_EQ(after->through_seq, 3u);
  EXPECT_EQ(crdt::digest(after->delta), crdt::digest(before->delta));

  // The peer acknowledges 2: the replicator compacts; the store follows on trim_log().
  MERIDIAN_ASSERT_OK(replica_->log().acknowledge(kPeer, 2));
  EXPECT_EQ(replica_->log().compact(), 2u);
  EXPECT_EQ(stored_log_entries(), 3u);
  EXPECT_EQ(replica_->trim_log().value(), 2u);
  EXPECT_EQ(replica_->persisted_log_horizon(), 2u);
  EXPECT_EQ(stored_log_entries(), 1u);
  EXPECT_EQ(replica_->trim_log().value(), 0u);

  // Or with the next commit: ack 3, compact, write 4: only entry 4 is stored.
  MERIDIAN_ASSERT_OK(replica_->log().acknowledge(kPeer, 3));
  replica_->log().compact();
  MERIDIAN_ASSERT_OK(replica_->upsert(std::vector<PointRecord>{{PointId::number(4), {4, 0}, ""}}));
  EXPECT_EQ(stored_log_entries(), 1u);
  reload();
  EXPECT_EQ(replica_->log().size(), 1u);
  EXPECT_EQ(replica_->log().horizon(), 3u);
  // A peer that acknowledged less than the horizon needs a full state.
  replica_->log().add_peer(kPeer, 1);
  EXPECT_EQ(replica_->log().deltas_since(kPeer)->kind, crdt::OutgoingDeltas::Kind::kFullState);
}

TEST_F(CollectionReplicaTest, WithoutRetentionTheLogCompactsAtOnce) {
  ReplicaEnv single = env();
  single.retain_delta_log = false;
  replica_.reset();
  auto r = CollectionReplica::load(*store_, collection_id_, single, nullptr);
  MERIDIAN_ASSERT_OK(r);
  replica_ = std::move(*r);
  auto w = replica_->upsert(std::vector<PointRecord>{{PointId::number(1), {1, 0}, ""}});
  MERIDIAN_ASSERT_OK(w);
  EXPECT_EQ(w->log_seq, 1u);
  EXPECT_EQ(replica_->log().size(), 0u);
  EXPECT_EQ(stored_log_entries(), 0u);
}

TEST_F(CollectionReplicaTest, AFailedRemoteApplyLeavesMemoryAndDiskUnchanged) {
  MERIDIAN_ASSERT_OK(replica_->upsert(std::vector<PointRecord>{{PointId::number(1), {1, 1}, ""},
                                                               {PointId::number(2), {2, 2}, ""}}));
  MERIDIAN_ASSERT_OK(replica_->apply_remote(kPeer, remote_upsert(3, {3, 3}, {}), 1));
  replica_->log().add_peer(kPeer, 0);
  // One delta touching three ids: an upsert of 4, a payload change of 1 and a delete of 2.
  crdt::PointSet delta = remote_upsert(4, {4, 4}, {{"k", "true"}});
  delta.join(*remote_.set_payload(crdt_id_of(PointId::number(1)), {{"p", "1"}},
                                  crdt::HlcTimestamp{++remote_ms_, 0}));
  delta.join(*remote_.remove(crdt_id_of(PointId::number(2))));

  const std::string digest = replica_->digest_hex();
  const uint64_t last_seq = replica_->log().last_seq();
  const uint64_t entries = stored_log_entries();
  int failures = 0;
  for (int fail_on = 1; fail_on <= 12; ++fail_on) {
    sealer_.arm(fail_on);
    auto w = replica_->apply_remote(kPeer, delta, 2);
    sealer_.arm(0);
    if (w.ok()) break;
    ++failures;
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInternal) << w.status();
    // Memory was reloaded: nothing of the delta is visible, in state, log or joined-through.
    EXPECT_EQ(replica_->digest_hex(), digest) << fail_on;
    EXPECT_EQ(replica_->log().last_seq(), last_seq) << fail_on;
    EXPECT_TRUE(replica_->log().has_peer(kPeer)) << fail_on;
    EXPECT_EQ(replica_->joined_through(kPeer), 1u) << fail_on;
    EXPECT_EQ(stored_log_entries(), entries) << fail_on;
    EXPECT_FALSE(stored_point(4).has_value()) << fail_on;
    EXPECT_EQ(stored_point(1)->payload_json, "") << fail_on;
    EXPECT_TRUE(stored_point(2).has_value()) << fail_on;
  }
  // Seals: slices of 1 and 4 (2's is erased), causal record, log entry, joined-through record,
  // points 1 and 4. Each one's failure was exercised, then the apply went through.
  EXPECT_EQ(failures, 7);
  EXPECT_EQ(replica_->joined_through(kPeer), 2u);
  EXPECT_FALSE(stored_point(2).has_value());
  EXPECT_EQ(stored_point(1)->payload_json, R"({"p":1})");
  const std::string applied = replica_->digest_hex();
  reload();
  EXPECT_EQ(replica_->digest_hex(), applied);
  EXPECT_EQ(replica_->joined_through(kPeer), 2u);
}

TEST_F(CollectionReplicaTest, MalformedRemoteDeltaIsRejectedWhole) {
  crdt::PointSet bad = remote_upsert(1, {1, 1}, {});
  remote_.apply(replica_->state());
  crdt::PointSet not_json =
      remote_.upsert(crdt_id_of(PointId::number(2)), {2, 2}, {{"f", "{not json"}},
                     crdt::HlcTimestamp{++remote_ms_, 0});
  bad.join(not_json);
  MERIDIAN_EXPECT_CODE(replica_->apply_remote(kPeer, bad, 1), absl::StatusCode::kInvalidArgument);
  crdt::PointSet bad_id = remote_.upsert("\x07garbage", {1, 1}, {}, crdt::HlcTimestamp{1, 0});
  MERIDIAN_EXPECT_CODE(replica_->apply_remote(kPeer, bad_id, 1),
                       absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(replica_->state().records().size(), 0u);
  EXPECT_EQ(replica_->joined_through(kPeer), 0u);
  EXPECT_EQ(stored_log_entries(), 0u);
}

}  // namespace
}  // namespace meridian::node
