// Tests of Node's replication API over a real LMDB store: apply_remote makes a peer's writes
// searchable (index and payload index) exactly as local writes are, rejects deltas that do not fit
// the collection, is fenced to one replica incarnation; on_local_commit reports every local write
// that logged a delta; and a CollectionShardStore bound to a dropped collection fails cleanly.
#include <memory>

#include "crdt/point_set_codec.h"
#include "node/collection_shard_store.h"
#include "node/node.h"
#include "node/payload_fields.h"
#include "tests/node/node_fixture.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using storage::PointRecord;

constexpr crdt::ReplicaId kPeer = 0x77;

class NodeReplicationTest : public NodeFixture {
 protected:
  NodeOptions node_options() const override {
    NodeOptions options;
    options.retain_delta_log = true;
    options.on_local_commit = [commits = commits_](const std::string& collection, uint64_t seq) {
      commits->emplace_back(collection, seq);
    };
    return options;
  }

  void SetUp() override {
    NodeFixture::SetUp();
    ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kHnsw}).ok());
  }

  crdt::PointSet remote_upsert(uint64_t id, std::vector<float> v, crdt::PayloadFields fields) {
    return remote_.upsert(crdt_id_of(PointId::number(id)), std::move(v), fields,
                          crdt::HlcTimestamp{++remote_ms_, 0});
  }

  std::vector<uint64_t> search_ids(std::vector<float> query, const std::string& filter = "") {
    SearchParams params;
    params.k = 10;
    params.filter_json = filter;
    auto hits = node_->search("c", query, params);
    EXPECT_TRUE(hits.ok()) << hits.status();
    std::vector<uint64_t> out;
    if (hits.ok()) {
      for (const auto& h : (*hits)[0]) out.push_back(h.id.as_number());
    }
    return out;
  }

  // Shared with the node's on_local_commit (node_options() is const).
  std::shared_ptr<std::vector<std::pair<std::string, uint64_t>>> commits_ =
      std::make_shared<std::vector<std::pair<std::string, uint64_t>>>();
  crdt::PointReplica remote_{kPeer};
  uint64_t remote_ms_ = 5'000'000;
};

TEST_F(NodeReplicationTest, RemoteWritesAreSearchableAndFilterableLikeLocalOnes) {
  crdt::PointSet delta = remote_upsert(1, {0, 0}, {{"color", "\"red\""}});
  delta.join(remote_upsert(2, {10, 10}, {{"color", "\"blue\""}}));
  MERIDIAN_ASSERT_OK(node_->apply_remote("c", kPeer, delta, 1));
  EXPECT_EQ(*node_->count("c"), 2u);
  EXPECT_EQ(search_ids({10, 10})[0], 2u);
  EXPECT_EQ(search_ids({10, 10}, R"({"must":[{"key":"color","match":{"value":"red"}}]})"),
            std::vector<uint64_t>{1});
  EXPECT_EQ(*node_->joined_through("c", kPeer), 1u);

  // A payload-only change reaches the payload index.
  auto payload = remote_.set_payload(crdt_id_of(PointId::number(2)), {{"color", "\"red\""}},
                                     crdt::HlcTimestamp{++remote_ms_, 0});
  MERIDIAN_ASSERT_OK(node_->apply_remote("c", kPeer, *payload, 2));
  EXPECT_EQ(search_ids({10, 10}, R"({"must":[{"key":"color","match":{"value":"red"}}]})"),
            (std::vector<uint64_t>{2, 1}));
  // A delete leaves the index.
  MERIDIAN_ASSERT_OK(
      node_->apply_remote("c", kPeer, *remote_.remove(crdt_id_of(PointId::number(2))), 3));
  EXPECT_EQ(search_ids({10, 10}), std::vector<uint64_t>{1});
  EXPECT_EQ(*node_->count("c"), 1u);
  // Applying remote deltas does not report local commits.
  EXPECT_TRUE(commits_->empty());

  const std::string digest = node_->collection_info("c")->digest;
  reopen();
  EXPECT_EQ(node_->collection_info("c")->digest, digest);
  EXPECT_EQ(search_ids({10, 10}), std::vector<uint64_t>{1});
  EXPECT_EQ(*node_->joined_through("c", kPeer), 3u);
}

TEST_F(NodeReplicationTest, DeltasThatDoNotFitTheCollectionChangeNothing) {
  MERIDIAN_EXPECT_CODE(node_->apply_remote("c", kPeer, remote_upsert(1, {1, 2, 3}, {}), 1),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(
      node_->apply_remote("c", kPeer,
                          remote_upsert(2, {1, std::numeric_limits<float>::quiet_NaN()}, {}), 1),
      absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(node_->apply_remote("absent", kPeer, remote_upsert(3, {1, 2}, {}), 1),
                       absl::StatusCode::kNotFound);
  EXPECT_EQ(*node_->count("c"), 0u);
  EXPECT_EQ(*node_->joined_through("c", kPeer), 0u);
  EXPECT_EQ(store_->log_entry_count(node_->collection_info("c")->stored.id).value(), 0u);
}

TEST_F(NodeReplicationTest, LocalCommitsAreReportedWithTheirLogSeq) {
  MERIDIAN_ASSERT_OK(node_->upsert("c", {{PointId::number(1), {1, 2}, ""}}));
  MERIDIAN_ASSERT_OK(
      node_->set_payload("c", std::vector<PointId>{PointId::number(1)}, R"({"a":1})"));
  MERIDIAN_ASSERT_OK(
      node_->overwrite_payload("c", std::vector<PointId>{PointId::number(1)}, R"({"b":1})"));
  MERIDIAN_ASSERT_OK(
      node_->delete_payload_keys("c", std::vector<PointId>{PointId::number(1)}, {"b"}));
  // Writes that change nothing log nothing and report nothing.
  MERIDIAN_ASSERT_OK(node_->remove("c", std::vector<PointId>{PointId::number(9)}));
  MERIDIAN_ASSERT_OK(node_->remove("c", std::vector<PointId>{PointId::number(1)}));
  const std::vector<std::pair<std::string, uint64_t>> expected{
      {"c", 1}, {"c", 2}, {"c", 3}, {"c", 4}, {"c", 5}};
  EXPECT_EQ(*commits_, expected);
  // Retained (no peer has acknowledged anything), in memory and on disk.
  auto replica = node_->replica("c");
  MERIDIAN_ASSERT_OK(replica);
  EXPECT_EQ((*replica)->log().size(), 5u);
  EXPECT_EQ(store_->log_entry_count(node_->collection_info("c")->stored.id).value(), 5u);
}

TEST_F(NodeReplicationTest, ShardStoreOfADroppedCollectionFailsWithoutCrashing) {
  auto shard = CollectionShardStore::create(*node_, "c");
  MERIDIAN_ASSERT_OK(shard);
  EXPECT_EQ((*shard)->replica_id(), *node_->replica_id("c"));
  MERIDIAN_ASSERT_OK((*shard)->apply(kPeer, remote_upsert(1, {1, 2}, {}), 1));
  EXPECT_EQ((*shard)->joined_through(kPeer), 1u);
  (*shard)->log().add_peer(kPeer, 0);

  MERIDIAN_ASSERT_OK(node_->drop_collection("c"));
  MERIDIAN_EXPECT_CODE((*shard)->apply(kPeer, remote_upsert(2, {1, 2}, {}), 2),
                       absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE((*shard)->trim_log(), absl::StatusCode::kNotFound);
  // The detached replica still answers (a replicator that has not stopped yet reads it).
  EXPECT_EQ((*shard)->state().size(), 1u);
  EXPECT_TRUE((*shard)->log().has_peer(kPeer));
  EXPECT_EQ((*shard)->joined_through(kPeer), 1u);

  // Re-created under the same name: a new replica, which the old binding must not write into.
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  MERIDIAN_EXPECT_CODE((*shard)->apply(kPeer, remote_upsert(3, {1, 2}, {}), 3),
                       absl::StatusCode::kNotFound);
  EXPECT_EQ(*node_->count("c"), 0u);
  EXPECT_EQ(*node_->joined_through("c", kPeer), 0u);
  MERIDIAN_EXPECT_CODE(CollectionShardStore::create(*node_, "absent"), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace meridian::node
