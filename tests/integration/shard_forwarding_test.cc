// Placement and forwarding inside one region (docs/sharding.md): three real meridiand nodes, a
// collection of 4 shards with replication factor 1. Each node holds only the shards rendezvous
// placement gives it (disjoint, covering all 4), and any node answers for the whole collection by
// forwarding the parts for other shards to their holders: writes through every node, then every
// point is read back, counted, scrolled and found by search (recall against an exact search)
// through every node; deletes and payload updates through one node reach every shard.
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "tests/support/cluster_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::LocalCluster;
using testing::LocalClusterOptions;
using testing::TempDir;
using testing::wait_until;
using testing::with_client;
using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;
constexpr uint32_t kDim = 8;
constexpr uint32_t kShards = 4;
constexpr uint64_t kPerNode = 60;

std::vector<float> vector_of(uint64_t id) {
  std::vector<float> v(kDim);
  for (uint32_t d = 0; d < kDim; ++d) v[d] = std::sin(0.37f * static_cast<float>(id) + 1.3f * d);
  return v;
}

float l2(const std::vector<float>& a, const std::vector<float>& b) {
  float sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(sum);
}

// The shards of "docs" each node holds, from its status.
std::vector<std::set<uint32_t>> held_shards(LocalCluster& cluster) {
  std::vector<std::set<uint32_t>> out(cluster.size());
  for (size_t i = 0; i < cluster.size(); ++i) {
    auto status = with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
    if (!status.ok()) continue;
    for (const auto& h : status->shards) {
      if (h.collection == "docs") out[i].insert(h.shard);
    }
  }
  return out;
}

TEST(ShardForwardingTest, EachNodeHoldsItsShardsAndAnswersForAll) {
  TempDir dir;
  LocalClusterOptions options;
  options.regions = {"a"};
  options.nodes_per_region = 3;
  auto started = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;

  // Placement is computed over the region's known members: wait until every node knows all.
  ASSERT_TRUE(wait_until(
      [&] {
        for (size_t i = 0; i < cluster.size(); ++i) {
          auto status =
              with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
          if (!status.ok() || status->members.size() != cluster.size() - 1) return false;
        }
        return true;
      },
      kDeadline))
      << cluster.logs_tail();

  CollectionConfig config{"docs", kDim, Metric::kL2};
  config.shard_count = kShards;
  config.replication_factor = 1;
  auto created = with_client(cluster.node(0).client_address,
                             [&](Client& c) { return c.create_collection(config); });
  ASSERT_TRUE(created.ok()) << created.status();

  // Every shard is held by exactly one node ...
  std::vector<std::set<uint32_t>> held;
  ASSERT_TRUE(wait_until(
      [&] {
        held = held_shards(cluster);
        size_t total = 0;
        std::set<uint32_t> all;
        for (const auto& h : held) {
          total += h.size();
          all.insert(h.begin(), h.end());
        }
        if (all.size() != kShards || total != kShards) return false;
        // ... and every node knows the collection (a node may hold none of its shards).
        for (size_t i = 0; i < cluster.size(); ++i) {
          auto info = with_client(cluster.node(i).client_address,
                                  [](Client& c) { return c.collection_info("docs"); });
          if (!info.ok()) return false;
        }
        return true;
      },
      kDeadline))
      << cluster.logs_tail();

  // Writes through every node; each batch spans all shards.
  std::vector<PointId> ids;
  std::string token;
  for (size_t n = 0; n < cluster.size(); ++n) {
    std::vector<PointData> batch;
    for (uint64_t id = n * 1000; id < n * 1000 + kPerNode; ++id) {
      batch.push_back({PointId::number(id), vector_of(id), absl::StrCat("{\"id\":", id, "}")});
      ids.push_back(PointId::number(id));
    }
    auto written = with_client(cluster.node(n).client_address,
                               [&](Client& c) { return c.upsert("docs", batch); });
    ASSERT_TRUE(written.ok()) << written.status() << cluster.logs_tail();
    EXPECT_EQ(written->applied, kPerNode);
    token = written->causal_token;
  }

  // Exact answers for a few queries.
  std::vector<std::vector<float>> queries;
  for (uint64_t q = 0; q < 5; ++q) queries.push_back(vector_of(q * 397 + 11));
  constexpr uint32_t kK = 10;
  std::vector<std::set<PointId>> exact;
  for (const auto& q : queries) {
    std::vector<std::pair<float, PointId>> all;
    for (const auto& id : ids) all.push_back({l2(q, vector_of(id.as_number())), id});
    std::sort(all.begin(), all.end());
    std::set<PointId> top;
    for (uint32_t i = 0; i < kK; ++i) top.insert(all[i].second);
    exact.push_back(top);
  }

  for (size_t n = 0; n < cluster.size(); ++n) {
    SCOPED_TRACE(cluster.node(n).name);
    const std::string& address = cluster.node(n).client_address;
    // The last write (through another node) is visible with its token.
    auto counted = with_client(address, [&](Client& c) { return c.count("docs", token); });
    ASSERT_TRUE(counted.ok()) << counted.status();
    EXPECT_EQ(*counted, ids.size());
    auto got = with_client(address, [&](Client& c) {
      return c.get("docs", ids, {.with_vector = true, .with_payload = true});
    });
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ((*got)[i].id, ids[i]);  // in request order
      EXPECT_EQ((*got)[i].vector, vector_of(ids[i].as_number()));
      EXPECT_EQ((*got)[i].payload_json, absl::StrCat("{\"id\":", ids[i].as_number(), "}"));
    }
    size_t found = 0;
    for (size_t q = 0; q < queries.size(); ++q) {
      auto hits = with_client(address, [&](Client& c) {
        return c.search({.collection = "docs", .queries = queries[q], .k = kK});
      });
      ASSERT_TRUE(hits.ok()) << hits.status();
      ASSERT_EQ(hits->size(), 1u);
      EXPECT_EQ((*hits)[0].size(), kK);
      for (const auto& h : (*hits)[0]) found += exact[q].count(h.id);
    }
    EXPECT_GE(static_cast<double>(found) / (queries.size() * kK), 0.9);
    // A scroll visits every point once.
    std::set<PointId> seen;
    std::string cursor;
    int pages = 0;
    do {
      auto page = with_client(address, [&](Client& c) { return c.scroll("docs", cursor, 50); });
      ASSERT_TRUE(page.ok()) << page.status();
      for (const auto& p : page->points) EXPECT_TRUE(seen.insert(p.id).second);
      cursor = page->next_cursor;
      ASSERT_LT(++pages, 50);
    } while (!cursor.empty());
    EXPECT_EQ(seen.size(), ids.size());
  }

  // A delete through one node removes points of every shard; the others see it with its token.
  std::vector<PointId> gone = {ids[0], ids[1], ids[2], ids[3], ids[kPerNode], ids[2 * kPerNode]};
  auto removed = with_client(cluster.node(2).client_address,
                             [&](Client& c) { return c.remove("docs", gone); });
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->applied, gone.size());
  auto left = with_client(cluster.node(0).client_address,
                          [&](Client& c) { return c.count("docs", removed->causal_token); });
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(*left, ids.size() - gone.size());

  // Payload updates are forwarded too: fields set through one node on points of every shard.
  std::vector<PointId> tagged = {ids[10], ids[11], ids[kPerNode + 10], ids[2 * kPerNode + 10]};
  auto set = with_client(cluster.node(1).client_address, [&](Client& c) {
    return c.set_payload("docs", tagged, R"({"tag":"x"})");
  });
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->applied, tagged.size());
  auto read = with_client(cluster.node(2).client_address, [&](Client& c) {
    return c.get("docs", tagged, {.with_payload = true, .consistency_token = set->causal_token});
  });
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), tagged.size());
  for (const auto& p : *read) {
    EXPECT_NE(p.payload_json.find(R"("tag":"x")"), std::string::npos) << p.payload_json;
  }

  // Still nothing held twice: placement did not change.
  EXPECT_EQ(held_shards(cluster), held);
}

}  // namespace
}  // namespace meridian
