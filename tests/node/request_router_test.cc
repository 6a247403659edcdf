// Tests of node/request_router.h over a real Node: a sharded collection's points land in the
// shard replicas shard_of() names, and every read (get, count, scroll, search) and consistency
// token sees the collection whole, the same as a one-shard collection with the same points.
#include "node/request_router.h"

#include <set>

#include "node/collection_catalog.h"
#include "node/shard_placement.h"
#include "tests/node/node_fixture.h"

namespace meridian::node {
namespace {

class RequestRouterTest : public NodeFixture {
 protected:
  void create(const std::string& name, uint32_t shards, Metric metric = Metric::kL2) {
    CollectionConfig config{name, 2, metric};
    config.shard_count = shards;
    MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
  }

  static std::vector<storage::PointRecord> points(uint64_t n) {
    std::vector<storage::PointRecord> out;
    for (uint64_t i = 0; i < n; ++i) {
      out.push_back({PointId::number(i),
                     {static_cast<float>(i), static_cast<float>(i % 7)},
                     absl::StrCat(R"({"i":)", i, "}")});
    }
    return out;
  }
};

TEST_F(RequestRouterTest, WritesLandInTheirShardsAndReadsSeeTheWhole) {
  create("docs", 4);
  RequestRouter router(*node_);
  auto written = router.upsert("docs", points(100));
  MERIDIAN_ASSERT_OK(written.status());
  EXPECT_EQ(written->applied, 100u);
  // One commit per shard that got points (100 sequential ids reach all four).
  EXPECT_EQ(written->commits.size(), 4u);

  // Each shard replica holds exactly the ids shard_of assigns it.
  for (uint32_t s = 0; s < 4; ++s) {
    const std::string replica = shard_replica_name("docs", s);
    auto page = node_->scroll(replica, "", 1000);
    MERIDIAN_ASSERT_OK(page.status());
    EXPECT_FALSE(page->points.empty()) << replica;
    for (const auto& p : page->points) EXPECT_EQ(shard_of(p.id, 4), s) << p.id.to_string();
  }

  auto count = router.count("docs");
  MERIDIAN_ASSERT_OK(count.status());
  EXPECT_EQ(*count, 100u);

  std::vector<PointId> ids = {PointId::number(42), PointId::number(1000), PointId::number(7)};
  auto got = router.get("docs", ids);
  MERIDIAN_ASSERT_OK(got.status());
  ASSERT_EQ(got->size(), 3u);
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_EQ((*got)[0]->id, PointId::number(42));
  EXPECT_FALSE((*got)[1].has_value());
  ASSERT_TRUE((*got)[2].has_value());
  EXPECT_EQ((*got)[2]->payload_json, R"({"i":7})");

  // Scrolling in small pages visits every point once.
  std::set<PointId> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = router.scroll("docs", cursor, 7);
    MERIDIAN_ASSERT_OK(page.status());
    EXPECT_LE(page->points.size(), 7u);
    for (const auto& p : page->points) EXPECT_TRUE(seen.insert(p.id).second) << p.id.to_string();
    cursor = page->next_cursor;
    ASSERT_LT(++pages, 100);
  } while (!cursor.empty());
  EXPECT_EQ(seen.size(), 100u);

  auto info = router.collection_info("docs");
  MERIDIAN_ASSERT_OK(info.status());
  EXPECT_EQ(info->stored.config.name, "docs");
  EXPECT_EQ(info->stored.config.shard_count, 4u);
  EXPECT_EQ(info->point_count, 100u);
  auto all = router.list_collections();
  MERIDIAN_ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 1u);  // shard replicas never show as collections
  EXPECT_EQ((*all)[0].stored.config.name, "docs");
  EXPECT_EQ((*all)[0].point_count, 100u);
  EXPECT_EQ(node_->stats().collections, 1u);
}

TEST_F(RequestRouterTest, SearchMergesShardsLikeOneShard) {
  for (Metric metric : {Metric::kL2, Metric::kDot}) {
    const std::string sharded = metric == Metric::kL2 ? "s-l2" : "s-dot";
    const std::string whole = metric == Metric::kL2 ? "w-l2" : "w-dot";
    create(sharded, 5, metric);
    create(whole, 1, metric);
    RequestRouter router(*node_);
    MERIDIAN_ASSERT_OK(router.upsert(sharded, points(200)).status());
    MERIDIAN_ASSERT_OK(router.upsert(whole, points(200)).status());
    SearchParams params;
    params.k = 10;
    params.with_payload = true;
    const std::vector<float> queries = {50.2f, 3.0f, 199.0f, 0.0f};
    auto a = router.search(sharded, queries, params);
    auto b = router.search(whole, queries, params);
    MERIDIAN_ASSERT_OK(a.status());
    MERIDIAN_ASSERT_OK(b.status());
    ASSERT_EQ(a->size(), 2u);
    for (size_t q = 0; q < 2; ++q) {
      ASSERT_EQ((*a)[q].size(), 10u);
      ASSERT_EQ((*a)[q].size(), (*b)[q].size());
      for (size_t i = 0; i < 10; ++i) {
        EXPECT_FLOAT_EQ((*a)[q][i].score, (*b)[q][i].score) << "query " << q << " rank " << i;
        EXPECT_FALSE((*a)[q][i].payload_json.empty());
      }
    }
  }
}

TEST_F(RequestRouterTest, TokensNameEveryShardWritten) {
  create("docs", 3);
  RequestRouter router(*node_);
  auto written = router.upsert("docs", points(30));
  MERIDIAN_ASSERT_OK(written.status());
  auto tokens = decode_shard_token(written->causal_token);
  MERIDIAN_ASSERT_OK(tokens.status());
  EXPECT_EQ(tokens->size(), 3u);
  auto reached = router.token_satisfied("docs", written->causal_token);
  MERIDIAN_ASSERT_OK(reached.status());
  EXPECT_TRUE(*reached);
  auto removed = router.remove("docs", std::vector<PointId>{PointId::number(3)});
  MERIDIAN_ASSERT_OK(removed.status());
  EXPECT_EQ(removed->applied, 1u);
  EXPECT_EQ(decode_shard_token(removed->causal_token)->size(), 1u);  // one shard touched
  // A one-shard token is not a sharded collection's.
  create("plain", 1);
  auto plain = router.upsert("plain", points(1));
  MERIDIAN_ASSERT_OK(plain.status());
  MERIDIAN_EXPECT_CODE(router.token_satisfied("docs", plain->causal_token),
                       absl::StatusCode::kInvalidArgument);
  auto reached_plain = router.token_satisfied("plain", plain->causal_token);
  MERIDIAN_ASSERT_OK(reached_plain.status());
  EXPECT_TRUE(*reached_plain);
}

TEST_F(RequestRouterTest, BadInputWritesNoShard) {
  create("docs", 4);
  RequestRouter router(*node_);
  auto batch = points(20);
  batch[13].vector = {1.0f};  // wrong dimension, in some shard other than the first one's
  MERIDIAN_EXPECT_CODE(router.upsert("docs", batch), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*router.count("docs"), 0u);
  MERIDIAN_EXPECT_CODE(router.upsert("docs@1", points(1)), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(router.count("nope"), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(router.scroll("docs", std::string(1, '\x09'), 10),
                       absl::StatusCode::kInvalidArgument);
}

TEST_F(RequestRouterTest, ShardsSurviveARestartAndDropTogether) {
  create("docs", 3);
  {
    RequestRouter router(*node_);
    MERIDIAN_ASSERT_OK(router.upsert("docs", points(50)).status());
  }
  reopen();
  RequestRouter router(*node_);
  EXPECT_EQ(*router.count("docs"), 50u);
  EXPECT_EQ(node_->local_replicas().size(), 3u);
  MERIDIAN_ASSERT_OK(node_->drop_collection("docs"));
  EXPECT_TRUE(node_->local_replicas().empty());
  auto all = node_->list_collections();
  MERIDIAN_ASSERT_OK(all.status());
  EXPECT_TRUE(all->empty());
  reopen();
  EXPECT_TRUE(node_->list_collections()->empty());
}

// What a peer's gossip does: a sharded create from another node makes every shard replica here.
TEST_F(RequestRouterTest, ACatalogCreateFromAPeerMakesEveryShardReplica) {
  CollectionCatalog peer;
  CollectionConfig config{"docs", 2, Metric::kL2};
  config.shard_count = 3;
  MERIDIAN_ASSERT_OK(peer.create(config, 999, 1, "eu").status());
  auto changes = node_->merge_catalog(peer.entries());
  MERIDIAN_ASSERT_OK(changes.status());
  EXPECT_EQ(changes->size(), 3u);
  auto adverts = node_->local_replicas();
  ASSERT_EQ(adverts.size(), 3u);
  std::set<uint32_t> shards;
  for (const auto& a : adverts) {
    EXPECT_EQ(a.collection, "docs");
    EXPECT_EQ(a.incarnation, 999u);
    shards.insert(a.shard);
  }
  EXPECT_EQ(shards, (std::set<uint32_t>{0, 1, 2}));
  RequestRouter router(*node_);
  MERIDIAN_ASSERT_OK(router.upsert("docs", points(10)).status());
  EXPECT_EQ(*router.count("docs"), 10u);
}

// A local create that loses to an earlier create with fewer shards keeps no extra shard replica.
TEST_F(RequestRouterTest, ALosingCreateWithMoreShardsLeavesNoShardBehind) {
  create("docs", 4);
  CollectionCatalog peer;
  CollectionConfig config{"docs", 2, Metric::kL2};
  config.shard_count = 2;
  MERIDIAN_ASSERT_OK(peer.create(config, 7, 1, "eu").status());  // created_ms 1: earlier
  MERIDIAN_ASSERT_OK(node_->merge_catalog(peer.entries()).status());
  auto adverts = node_->local_replicas();
  ASSERT_EQ(adverts.size(), 2u);
  for (const auto& a : adverts) EXPECT_EQ(a.incarnation, 7u);
  auto all = node_->list_collections();
  MERIDIAN_ASSERT_OK(all.status());
  EXPECT_EQ(all->size(), 2u);  // docs and docs@1
  RequestRouter router(*node_);
  auto info = router.collection_info("docs");
  MERIDIAN_ASSERT_OK(info.status());
  EXPECT_EQ(info->stored.config.shard_count, 2u);
}

TEST(ShardTokenTest, RoundTripsAndRefusesCorruption) {
  std::vector<ShardToken> tokens = {{0, "abc"}, {7, ""}, {255, std::string(300, 'x')}};
  const std::string bytes = encode_shard_token(tokens);
  auto back = decode_shard_token(bytes);
  MERIDIAN_ASSERT_OK(back.status());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[2].shard, 255u);
  EXPECT_EQ((*back)[2].token, std::string(300, 'x'));
  for (size_t len = 0; len < bytes.size(); ++len) {
    SCOPED_TRACE(len);
    MERIDIAN_EXPECT_CODE(decode_shard_token(bytes.substr(0, len)),
                         absl::StatusCode::kInvalidArgument);
  }
  MERIDIAN_EXPECT_CODE(decode_shard_token(bytes + "x"), absl::StatusCode::kInvalidArgument);
  std::string bad_version = bytes;
  bad_version[4] = 2;
  MERIDIAN_EXPECT_CODE(decode_shard_token(bad_version), absl::StatusCode::kInvalidArgument);
}

// Placement (docs/sharding.md, "What a node holds"): with a replication factor the node holds
// only the shards rendezvous placement over its region's members gives it; learning of members
// creates newly owned shards and never drops a replica it has by itself.
TEST_F(RequestRouterTest, ReplicationFactorHoldsOnlyOwnedShardsAndNeverDropsOnRecompute) {
  constexpr uint32_t kShards = 32;  // a random node id owns neither none nor all of them
  const std::vector<std::string> region = {node_->node_id(), "other-node-a", "other-node-b"};
  MERIDIAN_ASSERT_OK(node_->set_region_members(region).status());
  CollectionConfig config{"docs", 2, Metric::kL2};
  config.shard_count = kShards;
  config.replication_factor = 1;
  MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
  CollectionConfig everywhere{"all", 2, Metric::kL2};
  everywhere.shard_count = 4;
  MERIDIAN_ASSERT_OK(node_->create_collection(everywhere).status());

  RequestRouter router(*node_);
  const auto owned = owned_shards("docs", kShards, node_->node_id(), region, 1);
  ASSERT_FALSE(owned.empty());
  ASSERT_LT(owned.size(), kShards);
  for (uint32_t s = 0; s < kShards; ++s) {
    const bool is_owned = std::find(owned.begin(), owned.end(), s) != owned.end();
    EXPECT_EQ(router.holds("docs", s), is_owned) << "shard " << s;
  }
  for (uint32_t s = 0; s < 4; ++s) EXPECT_TRUE(router.holds("all", s));  // factor 0
  // Info covers the shards held here; a read of the whole needs the others (forwarding).
  MERIDIAN_ASSERT_OK(router.collection_info("docs").status());
  MERIDIAN_EXPECT_CODE(router.count("docs"), absl::StatusCode::kUnavailable);
  MERIDIAN_EXPECT_OK(router.count("docs", owned).status());

  // Alone in the region: it owns everything and creates the rest.
  MERIDIAN_ASSERT_OK(node_->set_region_members({node_->node_id()}).status());
  for (uint32_t s = 0; s < kShards; ++s) EXPECT_TRUE(router.holds("docs", s)) << "shard " << s;
  // Others come back: placement drops nothing (hand-off is ClusterService's, once the owners
  // have everything; see node_handoff_test.cc).
  MERIDIAN_ASSERT_OK(node_->set_region_members(region).status());
  for (uint32_t s = 0; s < kShards; ++s) EXPECT_TRUE(router.holds("docs", s)) << "shard " << s;
}

class AwaitPlacementTest : public NodeFixture {
 protected:
  NodeOptions node_options() const override {
    NodeOptions options;
    options.await_placement = true;
    return options;
  }
};

// A node joining through seeds takes no shard of a collection with a replication factor before
// it knows its region's members, and does after.
TEST_F(AwaitPlacementTest, NoShardIsCreatedBeforeTheRegionIsKnown) {
  CollectionConfig config{"docs", 2, Metric::kL2};
  config.shard_count = 4;
  config.replication_factor = 1;
  MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
  RequestRouter router(*node_);
  for (uint32_t s = 0; s < 4; ++s) EXPECT_FALSE(router.holds("docs", s)) << "shard " << s;
  MERIDIAN_ASSERT_OK(node_->set_region_members({node_->node_id()}).status());
  for (uint32_t s = 0; s < 4; ++s) EXPECT_TRUE(router.holds("docs", s)) << "shard " << s;
}

}  // namespace
}  // namespace meridian::node
