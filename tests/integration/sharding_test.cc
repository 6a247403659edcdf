// A sharded collection in a cluster of real processes (tests/support/cluster_process.h): two
// regions, two meridiand nodes in the first and one in the second. Writes through any node reach
// every shard replica on every node (shard replicas replicate as collections did), reads and
// searches through any node see the whole collection, a sharded write's causal token gives
// read-your-writes in the other region, and a client can route by the shard map.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "schema/shard_hash.h"
#include "tests/support/cluster_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::describe_replication;
using testing::LocalCluster;
using testing::LocalClusterOptions;
using testing::TempDir;
using testing::wait_converged;
using testing::wait_until;
using testing::with_client;
using namespace std::chrono_literals;

constexpr auto kConverge = 30s;
constexpr uint32_t kDim = 4;
constexpr uint32_t kShards = 4;

std::vector<PointData> make_points(uint64_t first, uint64_t n) {
  std::vector<PointData> out;
  for (uint64_t id = first; id < first + n; ++id) {
    const float x = static_cast<float>(id);
    out.push_back(
        {PointId::number(id), {x, x * 0.5f, 1.0f, -x}, absl::StrCat("{\"id\":", id, "}")});
  }
  return out;
}

TEST(ShardingClusterTest, ShardedWritesThroughAnyNodeAreReadEverywhere) {
  TempDir dir;
  LocalClusterOptions options;
  options.regions = {"a", "b"};
  options.nodes_per_region = 2;
  options.proxy_delay_ms = "2:10";
  auto started = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;

  CollectionConfig config{"docs", kDim, Metric::kL2};
  config.shard_count = kShards;
  auto created = with_client(cluster.node(0).client_address,
                             [&](Client& c) { return c.create_collection(config); });
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->config.shard_count, kShards);
  ASSERT_TRUE(wait_until(
      [&] {
        for (size_t i : cluster.live_nodes()) {
          auto info = with_client(cluster.node(i).client_address,
                                  [&](Client& c) { return c.collection_info("docs"); });
          if (!info.ok() || !(info->config == config)) return false;
        }
        return true;
      },
      kConverge))
      << cluster.logs_tail();

  // Writes through both nodes of region a; reads of the last write's token in region b.
  std::string token;
  for (size_t node : {size_t{0}, size_t{1}}) {
    auto written = with_client(cluster.node(node).client_address, [&](Client& c) {
      return c.upsert("docs", make_points(node * 100, 100));
    });
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(written->applied, 100u);
    token = written->causal_token;
  }
  const size_t b = cluster.nodes_in("b")[0];
  auto counted = with_client(cluster.node(b).client_address, [&](Client& c) {
    return c.search(
        {.collection = "docs", .queries = {150, 75, 1, -150}, .k = 3, .consistency_token = token});
  });
  ASSERT_TRUE(counted.ok()) << counted.status();
  ASSERT_EQ(counted->size(), 1u);
  ASSERT_EQ((*counted)[0].size(), 3u);
  EXPECT_EQ((*counted)[0][0].id, PointId::number(150));  // written through the other node

  auto converged = wait_converged(cluster, "docs", 200, kConverge);
  ASSERT_TRUE(converged.ok()) << converged.status();

  // Every node holds every shard replica, with the points shard_of gives it, and lists the
  // collection once.
  for (size_t i = 0; i < cluster.size(); ++i) {
    auto status = with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
    ASSERT_TRUE(status.ok()) << status.status();
    std::set<uint32_t> shards;
    uint64_t points = 0;
    for (const auto& h : status->shards) {
      if (h.collection != "docs") continue;
      EXPECT_EQ(h.shard_count, kShards);
      shards.insert(h.shard);
      EXPECT_GT(h.points, 0u) << "shard " << h.shard << " on " << cluster.node(i).name;
      points += h.points;
    }
    EXPECT_EQ(shards.size(), kShards) << cluster.node(i).name;
    EXPECT_EQ(points, 200u) << cluster.node(i).name;
    auto list =
        with_client(cluster.node(i).client_address, [](Client& c) { return c.list_collections(); });
    ASSERT_TRUE(list.ok()) << list.status();
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].config.name, "docs");
    // Every point reads back through this node, and a scroll visits each once.
    std::set<uint64_t> seen;
    std::string cursor;
    int pages = 0;
    do {
      auto page = with_client(cluster.node(i).client_address,
                              [&](Client& c) { return c.scroll("docs", cursor, 37); });
      ASSERT_TRUE(page.ok()) << page.status();
      for (const auto& p : page->points) EXPECT_TRUE(seen.insert(p.id.as_number()).second);
      cursor = page->next_cursor;
      ASSERT_LT(++pages, 50);
    } while (!cursor.empty());
    EXPECT_EQ(seen.size(), 200u) << cluster.node(i).name;
  }

  // The shard map names every node as a holder of every shard (today every node holds them
  // all), with the addresses a client can use to go straight to a shard's holders.
  auto map =
      with_client(cluster.node(0).client_address, [](Client& c) { return c.shard_map("docs"); });
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->shard_count, kShards);
  EXPECT_EQ(map->hash_version, kShardHashVersion);
  ASSERT_EQ(map->holders.size(), kShards);
  std::set<std::string> all_addresses;
  for (size_t i = 0; i < cluster.size(); ++i) all_addresses.insert(cluster.node(i).client_address);
  for (const auto& holders : map->holders) {
    std::set<std::string> addresses;
    for (const auto& h : holders) addresses.insert(h.client_address);
    EXPECT_EQ(addresses, all_addresses);
    ASSERT_FALSE(holders.empty());
    EXPECT_EQ(holders[0].client_address, cluster.node(0).client_address);  // the answering node
  }
  // A client sends each shard's part of a batch straight to a holder in region b.
  auto batch = make_points(1000, 40);
  std::map<std::string, std::vector<PointData>> by_holder;
  for (auto& p : batch) {
    for (const auto& h : map->holders[shard_of(p.id, map->shard_count)]) {
      if (h.region != "b") continue;
      by_holder[h.client_address].push_back(std::move(p));
      break;
    }
  }
  uint32_t sent = 0;
  for (const auto& [address, part] : by_holder) {
    auto written = with_client(address, [&](Client& c) { return c.upsert("docs", part); });
    ASSERT_TRUE(written.ok()) << written.status();
    sent += written->applied;
  }
  EXPECT_EQ(sent, 40u);
  MERIDIAN_EXPECT_CODE(
      with_client(cluster.node(0).client_address, [](Client& c) { return c.shard_map("nope"); }),
      absl::StatusCode::kNotFound);
  converged = wait_converged(cluster, "docs", 240, kConverge);
  ASSERT_TRUE(converged.ok()) << converged.status();

  // A sharded write with an all-regions concern is confirmed once every shard part is.
  auto confirmed = with_client(cluster.node(b).client_address, [&](Client& c) {
    return c.remove("docs", std::vector<PointId>{PointId::number(3), PointId::number(150)},
                    {.concern = client::WriteConcern::kAllRegions, .timeout_ms = 20000});
  });
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(confirmed->applied, 2u);
  EXPECT_TRUE(confirmed->replication_confirmed) << describe_replication(cluster);
  auto after = with_client(cluster.node(0).client_address,
                           [&](Client& c) { return c.count("docs", confirmed->causal_token); });
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, 238u);
}

}  // namespace
}  // namespace meridian
