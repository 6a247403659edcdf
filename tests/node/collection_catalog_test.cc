// Tests of the collection catalog's join and resolution rules (node/collection_catalog.h), the
// cluster codecs (node/cluster_codec.h) and membership merging (node/cluster_membership.h).
#include "node/collection_catalog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "node/cluster_codec.h"
#include "node/cluster_membership.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

CollectionConfig config(const std::string& name, uint32_t dim) {
  CollectionConfig c;
  c.name = name;
  c.dim = dim;
  return c;
}

CatalogEntry entry(const std::string& name, uint64_t incarnation, uint32_t generation,
                   uint64_t created_ms, uint32_t dim, bool dropped = false) {
  return CatalogEntry{name, incarnation, generation, created_ms, "r", config(name, dim), dropped};
}

TEST(CollectionCatalogTest, CreateThenDropThenCreateMakesANewGeneration) {
  CollectionCatalog c;
  MERIDIAN_ASSERT_OK(c.create(config("docs", 4), 11, 100, "eu").status());
  MERIDIAN_EXPECT_CODE(c.create(config("docs", 4), 12, 101, "eu").status(),
                       absl::StatusCode::kAlreadyExists);
  MERIDIAN_ASSERT_OK(c.drop("docs"));
  EXPECT_TRUE(c.resolve("docs")->dropped);
  MERIDIAN_EXPECT_CODE(c.drop("docs"), absl::StatusCode::kNotFound);
  auto again = c.create(config("docs", 8), 13, 102, "eu");
  MERIDIAN_ASSERT_OK(again.status());
  EXPECT_EQ(again->generation, 1u);
  EXPECT_EQ(c.resolve("docs")->incarnation, 13u);
  EXPECT_FALSE(c.resolve("docs")->dropped);
  // An old peer's view of generation 0 changes nothing.
  EXPECT_FALSE(c.merge({entry("docs", 11, 0, 100, 4)}));
  EXPECT_EQ(c.resolve("docs")->config.dim, 8u);
}

TEST(CollectionCatalogTest, ConcurrentCreatesWithTheSameSettingsAreOneCollection) {
  CollectionCatalog a, b;
  MERIDIAN_ASSERT_OK(a.create(config("docs", 4), 50, 200, "eu").status());
  MERIDIAN_ASSERT_OK(b.create(config("docs", 4), 30, 300, "us").status());
  a.merge(b.entries());
  b.merge(a.entries());
  ASSERT_EQ(a, b);
  EXPECT_EQ(a.resolve("docs")->incarnation, 30u);  // smallest incarnation of the group
  EXPECT_TRUE(a.same_collection("docs", 50));
  EXPECT_TRUE(a.conflicts("docs").empty());
}

TEST(CollectionCatalogTest, ConflictingCreatesResolveToTheEarliestEverywhere) {
  CollectionCatalog a, b;
  MERIDIAN_ASSERT_OK(a.create(config("docs", 4), 50, 200, "eu").status());
  MERIDIAN_ASSERT_OK(b.create(config("docs", 8), 30, 300, "us").status());
  a.merge(b.entries());
  b.merge(a.entries());
  ASSERT_EQ(a, b);
  EXPECT_EQ(a.resolve("docs")->config.dim, 4u);
  EXPECT_EQ(a.resolve("docs")->incarnation, 50u);
  EXPECT_FALSE(a.same_collection("docs", 30));
  ASSERT_EQ(a.conflicts("docs").size(), 1u);
  EXPECT_EQ(a.conflicts("docs")[0].region, "us");
}

TEST(CollectionCatalogTest, DropOfAnyCreateOfTheGroupDrops) {
  CollectionCatalog a, b;
  MERIDIAN_ASSERT_OK(a.create(config("docs", 4), 50, 200, "eu").status());
  MERIDIAN_ASSERT_OK(b.create(config("docs", 4), 30, 300, "us").status());
  MERIDIAN_ASSERT_OK(a.drop("docs"));  // a has not heard of b's create yet
  b.merge(a.entries());
  EXPECT_TRUE(b.resolve("docs")->dropped);
}

// The join must be commutative, associative and idempotent, so that every node resolves the
// same winner whatever order gossip delivers views in.
TEST(CollectionCatalogTest, MergeOrderDoesNotMatter) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<CatalogEntry> pool;
    // An incarnation is one create: everything but `dropped` is fixed by it.
    std::vector<CatalogEntry> creates;
    for (uint64_t inc = 1; inc <= 6; ++inc) {
      creates.push_back(
          entry(rng() % 2 ? "a" : "b", inc, rng() % 3, rng() % 4, 4 * (1 + rng() % 2)));
    }
    for (int i = 0; i < 8; ++i) {
      CatalogEntry e = creates[rng() % creates.size()];
      e.dropped = rng() % 3 == 0;
      pool.push_back(e);
    }
    // Each of three replicas sees a random subset, then they merge in different orders.
    std::vector<CollectionCatalog> replicas(3);
    for (auto& r : replicas) {
      for (const auto& e : pool) {
        if (rng() % 2) r.merge({e});
      }
    }
    CollectionCatalog x = replicas[0], y = replicas[2], z = replicas[1];
    x.merge(replicas[1].entries());
    x.merge(replicas[2].entries());
    y.merge(replicas[1].entries());
    y.merge(replicas[0].entries());
    y.merge(y.entries());  // idempotent
    z.merge(replicas[2].entries());
    z.merge(replicas[0].entries());
    ASSERT_EQ(x, y) << "round " << round;
    ASSERT_EQ(x, z) << "round " << round;
    for (const auto& name : x.names()) ASSERT_EQ(x.resolve(name), y.resolve(name));
  }
}

TEST(ClusterCodecTest, GossipRoundTrips) {
  GossipMessage m;
  m.from = {"n1", "eu", "127.0.0.1:1", "127.0.0.1:2", 9, {{"docs", 5, 77}, {"docs", 5, 78, 3}}};
  m.members = {{"n2", "us", "127.0.0.1:3", "127.0.0.1:4", 3, {}}};
  m.catalog = {entry("docs", 5, 0, 100, 4), entry("x", 6, 2, 1, 8, true)};
  auto decoded = decode_gossip(encode_gossip(m));
  MERIDIAN_ASSERT_OK(decoded.status());
  EXPECT_EQ(*decoded, m);
}

TEST(ClusterCodecTest, BadBytesAreRefused) {
  GossipMessage m;
  m.from = {"n1", "eu", "a", "b", 1, {}};
  std::string bytes = encode_gossip(m);
  for (size_t cut = 0; cut < bytes.size(); cut += 8) {
    EXPECT_FALSE(decode_gossip(bytes.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(decode_gossip("not a capnp message").ok());
  // An entry whose settings are invalid (dimension 0) is refused, not merged.
  m.catalog = {entry("docs", 5, 0, 100, 0)};
  MERIDIAN_EXPECT_CODE(decode_gossip(encode_gossip(m)).status(),
                       absl::StatusCode::kInvalidArgument);
}

TEST(ClusterCodecTest, StoredCatalogRoundTrips) {
  StoredCatalog c{{entry("docs", 5, 0, 100, 4)}, {{"docs", 5}}};
  auto decoded = decode_stored_catalog(encode_stored_catalog(c));
  MERIDIAN_ASSERT_OK(decoded.status());
  EXPECT_EQ(*decoded, c);
}

TEST(MembershipTest, FresherHeartbeatWinsAndPeersAreFound) {
  Membership m("self");
  EXPECT_TRUE(m.merge({{"n1", "eu", "c1", "p1", 5, {{"docs", 5, 77}}}}, 1000));
  EXPECT_FALSE(m.merge({{"n1", "eu", "c1", "old", 4, {}}}, 2000));   // staler: ignored
  EXPECT_FALSE(m.merge({{"self", "eu", "c", "p", 100, {}}}, 2000));  // ourselves: ignored
  ASSERT_EQ(m.peers_of("docs", 0, 5).size(), 1u);
  EXPECT_EQ(m.peers_of("docs", 0, 5)[0].replica_id, 77u);
  EXPECT_TRUE(m.peers_of("docs", 0, 6).empty());
  EXPECT_TRUE(m.up("n1", 5000, 10'000));
  EXPECT_FALSE(m.up("n1", 20'000, 10'000));
  EXPECT_TRUE(m.merge({{"n1", "eu", "c1", "p9", 6, {}}}, 20'000));
  EXPECT_TRUE(m.up("n1", 20'000, 10'000));
  EXPECT_TRUE(m.peers_of("docs", 0, 5).empty());
}

TEST(MembershipTest, PeersAreFoundPerShard) {
  Membership m("self");
  m.merge({{"n1", "eu", "c1", "p1", 5, {{"docs", 5, 70, 0}, {"docs", 5, 71, 1}}},
           {"n2", "us", "c2", "p2", 5, {{"docs", 5, 81, 1}, {"docs", 5, 82, 2}}}},
          1000);
  auto ids = [&](uint32_t shard) {
    std::vector<uint64_t> out;
    for (const auto& p : m.peers_of("docs", shard, 5)) out.push_back(p.replica_id);
    return out;
  };
  EXPECT_EQ(ids(0), (std::vector<uint64_t>{70}));
  EXPECT_EQ(ids(1), (std::vector<uint64_t>{71, 81}));
  EXPECT_EQ(ids(2), (std::vector<uint64_t>{82}));
  EXPECT_TRUE(ids(3).empty());
}

TEST(MembershipTest, ANodeReplacedAtItsAddressIsForgotten) {
  Membership m("self", "p-self");
  m.merge({{"old", "eu", "c1", "p1", 100, {{"docs", 5, 77}}}}, 1000);
  // The node was wiped and restarted at p1: a new id with a (wall-clock) higher heartbeat.
  EXPECT_TRUE(m.merge({{"new", "eu", "c1", "p1", 5000, {{"docs", 5, 88}}}}, 2000));
  EXPECT_FALSE(m.find("old").has_value());
  ASSERT_EQ(m.peers_of("docs", 0, 5).size(), 1u);
  EXPECT_EQ(m.peers_of("docs", 0, 5)[0].replica_id, 88u);
  // A third node still gossiping the old description does not bring it back.
  EXPECT_FALSE(m.merge({{"old", "eu", "c1", "p1", 150, {{"docs", 5, 77}}}}, 3000));
  EXPECT_FALSE(m.find("old").has_value());
  // An old life of this node (at our own address) is ignored.
  EXPECT_FALSE(m.merge({{"me-before", "eu", "c", "p-self", 9, {}}}, 3000));
  EXPECT_FALSE(m.find("me-before").has_value());
}

}  // namespace
}  // namespace meridian::node
