// Tests of Node's side of shard hand-off (node.h: unowned_replicas, retire_replica): a replica
// the node no longer owns is listed with its owners, is removed only when the caller's check
// (run under the write lock) agrees, and its removal is durable; owned replicas are never
// removed this way.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "node/request_router.h"
#include "node/shard_placement.h"
#include "tests/node/node_fixture.h"

namespace meridian::node {
namespace {

constexpr uint32_t kShards = 32;  // a random node id owns neither none nor all of them

class ShardHandoffNodeTest : public NodeFixture {
 protected:
  // A restarted member of a cluster waits for its region's members (as a daemon with seeds).
  NodeOptions node_options() const override {
    NodeOptions options;
    options.await_placement = restarted_;
    return options;
  }
  bool restarted_ = false;

  void SetUp() override {
    NodeFixture::SetUp();
    // Alone in its region it owns and holds every shard, with points in each.
    MERIDIAN_ASSERT_OK(node_->set_region_members({node_->node_id()}).status());
    CollectionConfig config{"docs", 2, Metric::kL2};
    config.shard_count = kShards;
    config.replication_factor = 1;
    MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
    std::vector<storage::PointRecord> points;
    for (uint64_t i = 0; i < 500; ++i) {
      points.push_back({PointId::number(i), {static_cast<float>(i), 1.0f}, ""});
    }
    RequestRouter router(*node_);
    MERIDIAN_ASSERT_OK(router.upsert("docs", std::move(points)).status());
  }

  // This node and two others.
  std::vector<std::string> region() const {
    return {node_->node_id(), "other-node-a", "other-node-b"};
  }
};

TEST_F(ShardHandoffNodeTest, NothingIsUnownedWhileAloneInTheRegion) {
  EXPECT_TRUE(node_->unowned_replicas().empty());
}

TEST_F(ShardHandoffNodeTest, UnownedReplicasAreListedWithTheirOwners) {
  MERIDIAN_ASSERT_OK(node_->set_region_members(region()).status());
  const auto owned = owned_shards("docs", kShards, node_->node_id(), region(), 1);
  ASSERT_FALSE(owned.empty());
  ASSERT_LT(owned.size(), kShards);
  std::set<uint32_t> listed;
  for (const auto& u : node_->unowned_replicas()) {
    EXPECT_EQ(u.collection, "docs");
    EXPECT_EQ(u.local_name, shard_replica_name("docs", u.shard));
    EXPECT_EQ(u.owners, shard_owners("docs", u.shard, region(), 1));
    EXPECT_EQ(u.replica_id, *node_->replica_id(u.local_name));
    listed.insert(u.shard);
  }
  std::set<uint32_t> expected;
  for (uint32_t s = 0; s < kShards; ++s) {
    if (std::find(owned.begin(), owned.end(), s) == owned.end()) expected.insert(s);
  }
  EXPECT_EQ(listed, expected);
  // Placement alone drops nothing: every shard is still held.
  RequestRouter router(*node_);
  for (uint32_t s = 0; s < kShards; ++s) EXPECT_TRUE(router.holds("docs", s)) << "shard " << s;
}

TEST_F(ShardHandoffNodeTest, RetiredOnlyWhenTheCheckAgreesAndForGood) {
  MERIDIAN_ASSERT_OK(node_->set_region_members(region()).status());
  const auto unowned = node_->unowned_replicas();
  ASSERT_FALSE(unowned.empty());
  const UnownedReplica& u = unowned.front();
  RequestRouter router(*node_);
  const uint64_t total = *router.count("docs", [&] {
    std::vector<uint32_t> all;
    for (uint32_t s = 0; s < kShards; ++s) all.push_back(s);
    return all;
  }());

  // The check says no (an owner is behind): nothing changes.
  auto kept = node_->retire_replica(u.local_name, u.replica_id,
                                    [](const CollectionReplica&) { return false; });
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_FALSE(*kept);
  EXPECT_TRUE(router.holds("docs", u.shard));
  // Another replica id (dropped and re-created meanwhile): NotFound.
  MERIDIAN_EXPECT_CODE(node_->retire_replica(u.local_name, u.replica_id + 1,
                                             [](const CollectionReplica&) { return true; }),
                       absl::StatusCode::kNotFound);

  // The check sees the replica itself, with everything it holds.
  const uint64_t shard_points = *node_->count(u.local_name);
  bool checked = false;
  auto retired =
      node_->retire_replica(u.local_name, u.replica_id, [&](const CollectionReplica& replica) {
        checked = replica.replica_id() == u.replica_id;
        return true;
      });
  ASSERT_TRUE(retired.ok()) << retired.status();
  EXPECT_TRUE(*retired);
  EXPECT_TRUE(checked);
  EXPECT_FALSE(router.holds("docs", u.shard));
  MERIDIAN_EXPECT_CODE(node_->count(u.local_name), absl::StatusCode::kNotFound);
  for (const auto& r : node_->local_replicas()) EXPECT_NE(r.replica_id, u.replica_id);
  for (const auto& left : node_->unowned_replicas()) EXPECT_NE(left.shard, u.shard);

  // An owned replica is never retired, whatever the check says.
  const auto owned = owned_shards("docs", kShards, node_->node_id(), region(), 1);
  const std::string owned_name = shard_replica_name("docs", owned.front());
  auto refused = node_->retire_replica(owned_name, *node_->replica_id(owned_name),
                                       [](const CollectionReplica&) { return true; });
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_FALSE(*refused);
  EXPECT_TRUE(router.holds("docs", owned.front()));

  // Durable: after a restart it is still gone, the rest is intact, the collection still known,
  // and placement over the same members does not bring it back.
  restarted_ = true;
  reopen();
  MERIDIAN_ASSERT_OK(node_->set_region_members(region()).status());
  MERIDIAN_EXPECT_CODE(node_->count(u.local_name), absl::StatusCode::kNotFound);
  RequestRouter reopened(*node_);
  std::vector<uint32_t> held;
  for (uint32_t s = 0; s < kShards; ++s) {
    if (reopened.holds("docs", s)) held.push_back(s);
  }
  EXPECT_EQ(held.size(), kShards - 1);
  EXPECT_EQ(*reopened.count("docs", held), total - shard_points);
  MERIDIAN_EXPECT_OK(node_->collection_config("docs").status());
}

}  // namespace
}  // namespace meridian::node
