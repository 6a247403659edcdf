// Tests of node/shard_placement.h: the point hash is pinned (a change would move data between
// nodes of a running cluster), shards are balanced, and rendezvous placement moves only what a
// new node takes.
#include "node/shard_placement.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

std::vector<std::string> node_names(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(absl::StrCat("node-", i));
  return out;
}

// The values docs/sharding.md specifies, computed by an independent implementation of the same
// definition (a few lines of Python): a port to another platform or language must match them.
TEST(ShardPlacementTest, HashIsPinned) {
  EXPECT_EQ(stable_hash(""), 0xf52a15e9a9b5e89bull);
  EXPECT_EQ(stable_hash("meridian"), 0x5fa6f89603b6e64full);
  const std::vector<uint32_t> expected = {2, 11, 13, 1, 0, 10, 0, 13, 5, 0};
  for (uint64_t n = 0; n < expected.size(); ++n) {
    EXPECT_EQ(shard_of(PointId::number(n), 16), expected[n]) << "id " << n;
  }
  Uuid u{};
  for (uint8_t i = 0; i < 16; ++i) u[i] = i;
  EXPECT_EQ(shard_of(PointId::uuid(u), 16), 9u);
  EXPECT_EQ(shard_of(PointId::uuid(u), 256), 9u);
  const std::vector<std::string> nodes = {"node-a", "node-b", "node-c", "node-d"};
  EXPECT_EQ(shard_owners("docs", 0, nodes, 2), (std::vector<std::string>{"node-b", "node-a"}));
  EXPECT_EQ(shard_owners("docs", 1, nodes, 2), (std::vector<std::string>{"node-d", "node-b"}));
  EXPECT_EQ(shard_owners("docs", 3, nodes, 2), (std::vector<std::string>{"node-b", "node-c"}));
}

TEST(ShardPlacementTest, OneShardHoldsEverything) {
  for (uint64_t n = 0; n < 100; ++n) EXPECT_EQ(shard_of(PointId::number(n), 1), 0u);
}

TEST(ShardPlacementTest, PointsSpreadEvenlyOverShards) {
  constexpr uint32_t kShards = 8;
  constexpr uint64_t kPoints = 80000;
  std::vector<uint64_t> counts(kShards, 0);
  for (uint64_t n = 0; n < kPoints; ++n) ++counts[shard_of(PointId::number(n), kShards)];
  // Sequential ids (the common case) still land evenly: within 5% of the mean per shard.
  for (uint32_t s = 0; s < kShards; ++s) {
    EXPECT_GT(counts[s], kPoints / kShards * 95 / 100) << "shard " << s;
    EXPECT_LT(counts[s], kPoints / kShards * 105 / 100) << "shard " << s;
  }
}

TEST(ShardPlacementTest, OwnersAreDeterministicAndIndependentOfInputOrder) {
  auto nodes = node_names(5);
  auto shuffled = nodes;
  std::reverse(shuffled.begin(), shuffled.end());
  shuffled.push_back(nodes[2]);  // a repeat counts once
  for (uint32_t s = 0; s < 32; ++s) {
    const auto owners = shard_owners("c", s, nodes, 3);
    ASSERT_EQ(owners.size(), 3u);
    EXPECT_EQ(std::set<std::string>(owners.begin(), owners.end()).size(), 3u);
    EXPECT_EQ(shard_owners("c", s, shuffled, 3), owners);
    // The best-scored node first.
    EXPECT_GE(placement_score(owners[0], "c", s), placement_score(owners[1], "c", s));
  }
}

TEST(ShardPlacementTest, ReplicationFactorZeroOrLargeMeansEveryNode) {
  auto nodes = node_names(3);
  for (uint32_t rf : {0u, 3u, 10u}) {
    auto owners = shard_owners("c", 1, nodes, rf);
    std::sort(owners.begin(), owners.end());
    EXPECT_EQ(owners, nodes) << "rf " << rf;
  }
  EXPECT_TRUE(shard_owners("c", 0, {}, 2).empty());
}

TEST(ShardPlacementTest, ShardsSpreadOverNodes) {
  auto nodes = node_names(4);
  std::map<std::string, int> held;
  constexpr uint32_t kShards = 256;
  for (uint32_t s = 0; s < kShards; ++s) {
    for (const auto& n : shard_owners("docs", s, nodes, 1)) ++held[n];
  }
  ASSERT_EQ(held.size(), 4u);
  for (const auto& [node, count] : held) {
    EXPECT_GT(count, 32) << node;  // mean 64
    EXPECT_LT(count, 96) << node;
  }
  // Collections are placed independently: another name gives another layout.
  int same = 0;
  for (uint32_t s = 0; s < kShards; ++s) {
    same += shard_owners("docs", s, nodes, 1) == shard_owners("other", s, nodes, 1);
  }
  EXPECT_LT(same, 128);
}

// The property that makes growing a region cheap: a new node takes some shards, and no shard
// moves between two nodes that were already there.
TEST(ShardPlacementTest, AddingANodeOnlyMovesShardsToIt) {
  for (uint32_t rf : {1u, 2u, 3u}) {
    for (size_t n = 1; n <= 6; ++n) {
      auto before_nodes = node_names(n);
      auto after_nodes = node_names(n + 1);
      const std::string& added = after_nodes.back();
      int taken = 0;
      for (uint32_t s = 0; s < 64; ++s) {
        auto before = shard_owners("docs", s, before_nodes, rf);
        auto after = shard_owners("docs", s, after_nodes, rf);
        std::set<std::string> old_set(before.begin(), before.end());
        std::set<std::string> new_set(after.begin(), after.end());
        std::vector<std::string> gained, lost;
        std::set_difference(new_set.begin(), new_set.end(), old_set.begin(), old_set.end(),
                            std::back_inserter(gained));
        std::set_difference(old_set.begin(), old_set.end(), new_set.begin(), new_set.end(),
                            std::back_inserter(lost));
        ASSERT_LE(gained.size(), 1u);
        if (!gained.empty()) {
          EXPECT_EQ(gained[0], added) << "rf " << rf << " shard " << s;
          ++taken;
        }
        // The new node displaces at most one old owner, and only when the set was full.
        EXPECT_LE(lost.size(), gained.size());
        EXPECT_EQ(new_set.size(), std::min<size_t>(rf, n + 1));
      }
      if (n >= rf) {
        EXPECT_GT(taken, 0) << "rf " << rf << ", " << n << " -> " << n + 1 << " nodes";
      }
    }
  }
}

TEST(ShardPlacementTest, OwnedShardsMatchOwners) {
  auto nodes = node_names(3);
  std::map<uint32_t, int> copies;
  for (const auto& n : nodes) {
    for (uint32_t s : owned_shards("c", 16, n, nodes, 2)) ++copies[s];
  }
  ASSERT_EQ(copies.size(), 16u);
  for (const auto& [shard, count] : copies) EXPECT_EQ(count, 2) << "shard " << shard;
}

}  // namespace
}  // namespace meridian::node
