// Adding a node to a region moves shards by streaming them, while the cluster keeps serving
// (docs/sharding.md, "Moving shards"): real meridiand processes, a region of 2 nodes holding a
// collection of 4 shards with replication factor 1 under a steady write load; a 3rd node starts
// in the region; the shards rendezvous placement gives it are filled by replication and handed
// off by their old holders, until each shard has exactly one holder again. Every acknowledged
// write is still there, and no search issued during the move failed. With replication factor 2
// and one owner down, the replica being handed off is kept (status names the owner it waits
// for) until that owner is back and caught up.
#include <atomic>
#include <cmath>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "node/shard_placement.h"
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
constexpr uint64_t kBatch = 16;

std::vector<float> vector_of(uint64_t id) {
  std::vector<float> v(kDim);
  for (uint32_t d = 0; d < kDim; ++d) v[d] = std::sin(0.37f * static_cast<float>(id) + 1.3f * d);
  return v;
}

// What the nodes `nodes` report of `collection`: the shards each holds and how many replicas each
// hands off. nullopt when one does not answer.
struct Placement {
  std::vector<std::set<uint32_t>> held;
  size_t handoffs = 0;
};
std::optional<Placement> placement(LocalCluster& cluster, const std::string& collection,
                                   const std::vector<size_t>& nodes) {
  Placement out;
  for (size_t i : nodes) {
    auto status = with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
    if (!status.ok()) return std::nullopt;
    std::set<uint32_t> held;
    for (const auto& h : status->shards) {
      if (h.collection == collection) held.insert(h.shard);
    }
    out.held.push_back(std::move(held));
    out.handoffs += status->handoffs.size();
  }
  return out;
}

// Each of the shards is held by exactly one of the nodes.
bool one_holder_each(const Placement& p) {
  std::vector<int> holders(kShards, 0);
  for (const auto& held : p.held) {
    for (uint32_t s : held) ++holders[s];
  }
  return std::all_of(holders.begin(), holders.end(), [](int n) { return n == 1; });
}

// Upserts batches of fresh ids through one node until stopped, recording every acknowledged id.
class WriteLoad {
 public:
  // Ids from `first_id` on.
  WriteLoad(std::string address, std::string collection, uint64_t first_id)
      : address_(std::move(address)), collection_(std::move(collection)), first_id_(first_id) {
    thread_ = std::thread([this] { run(); });
  }
  ~WriteLoad() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t acked_count() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  std::vector<PointId> acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  size_t failed_points() const { return failed_points_; }
  std::string last_error() {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  void run() {
    auto client = Client::connect(address_);
    uint64_t next = first_id_;
    while (!stopping_) {
      if (!client.ok()) {
        client = Client::connect(address_);
        continue;
      }
      std::vector<PointData> batch;
      std::vector<PointId> ids;
      for (uint64_t i = 0; i < kBatch; ++i, ++next) {
        batch.push_back(
            {PointId::number(next), vector_of(next), absl::StrCat("{\"n\":", next, "}")});
        ids.push_back(PointId::number(next));
      }
      auto written = (*client)->upsert(collection_, batch);
      std::lock_guard lock(mu_);
      if (written.ok()) {
        acked_.insert(acked_.end(), ids.begin(), ids.end());
      } else {
        failed_points_ += kBatch;
        last_error_ = written.status().ToString();
        if (absl::IsUnavailable(written.status())) client = absl::UnavailableError("reconnect");
      }
    }
  }

  std::string address_;
  std::string collection_;
  uint64_t first_id_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<PointId> acked_;
  std::atomic<size_t> failed_points_{0};
  std::string last_error_;
};

// Searches through the nodes `addresses` in turn until stopped, counting answers and failures.
class SearchLoad {
 public:
  SearchLoad(std::vector<std::string> addresses, std::string collection)
      : addresses_(std::move(addresses)), collection_(std::move(collection)) {
    thread_ = std::thread([this] { run(); });
  }
  ~SearchLoad() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t answered() const { return answered_; }
  size_t failed() const { return failed_; }
  std::string last_error() {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  void run() {
    for (uint64_t q = 0; !stopping_; ++q) {
      const std::string& address = addresses_[q % addresses_.size()];
      auto hits = with_client(address, [&](Client& c) {
        return c.search({.collection = collection_, .queries = vector_of(q * 7919 + 3), .k = 5});
      });
      if (hits.ok() && hits->size() == 1) {
        ++answered_;
      } else {
        ++failed_;
        std::lock_guard lock(mu_);
        last_error_ = hits.ok() ? "wrong number of result lists" : hits.status().ToString();
      }
    }
  }

  std::vector<std::string> addresses_;
  std::string collection_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> answered_{0};
  std::atomic<size_t> failed_{0};
  std::mutex mu_;
  std::string last_error_;
};

TEST(ShardMovesTest, AddedNodeTakesItsShardsUnderLoadWithoutLoss) {
  TempDir dir;
  LocalClusterOptions options;
  options.regions = {"a"};
  options.nodes_per_region = 3;
  options.deferred_nodes = {2};  // joins later
  auto started = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;

  // The joining node's id, known beforehand: the collection is named so that rendezvous
  // placement gives it at least one of the shards (with random node ids it may get none).
  auto joining = cluster.prepare_node(2);
  ASSERT_TRUE(joining.ok()) << joining.status();
  // Two nodes that know each other.
  std::vector<std::string> ids;
  ASSERT_TRUE(wait_until(
      [&] {
        ids.clear();
        for (size_t i : {0, 1}) {
          auto status =
              with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
          if (!status.ok() || status->members.size() != 1) return false;
          ids.push_back(status->node_id);
        }
        return true;
      },
      kDeadline))
      << cluster.logs_tail();
  ids.push_back(*joining);
  std::string collection;
  for (int n = 0; collection.empty() && n < 1000; ++n) {
    const std::string name = absl::StrCat("docs", n);
    for (uint32_t s = 0; s < kShards; ++s) {
      if (node::shard_owners(name, s, ids, 1) == std::vector<std::string>{*joining}) {
        collection = name;
      }
    }
  }
  ASSERT_FALSE(collection.empty());

  // The collection's shards split between the two nodes, and both know it.
  CollectionConfig config{collection, kDim, Metric::kL2};
  config.shard_count = kShards;
  config.replication_factor = 1;
  auto created = with_client(cluster.node(0).client_address,
                             [&](Client& c) { return c.create_collection(config); });
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(wait_until(
      [&] {
        auto p = placement(cluster, collection, {0, 1});
        if (!p.has_value() || !one_holder_each(*p)) return false;
        for (size_t i : {0, 1}) {
          auto info = with_client(cluster.node(i).client_address,
                                  [&](Client& c) { return c.collection_info(collection); });
          if (!info.ok()) return false;
        }
        return true;
      },
      kDeadline))
      << cluster.logs_tail();

  // A steady load: writes through both nodes (each for every shard: its own and forwarded),
  // searches through both.
  WriteLoad writes0(cluster.node(0).client_address, collection, 1);
  WriteLoad writes1(cluster.node(1).client_address, collection, 1'000'000'000);
  SearchLoad searches({cluster.node(0).client_address, cluster.node(1).client_address}, collection);
  auto acked_count = [&] { return writes0.acked_count() + writes1.acked_count(); };
  ASSERT_TRUE(wait_until(
      [&] { return writes0.acked_count() >= 10 * kBatch && writes1.acked_count() >= 10 * kBatch; },
      kDeadline))
      << writes0.last_error() << writes1.last_error() << cluster.logs_tail();

  // The third node joins; the shards it now owns move to it.
  ASSERT_TRUE(cluster.restart_node(2).ok()) << cluster.logs_tail();
  const size_t acked_at_join = acked_count();
  std::optional<Placement> moved;
  size_t max_handoffs_seen = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        moved = placement(cluster, collection, {0, 1, 2});
        if (moved.has_value()) max_handoffs_seen = std::max(max_handoffs_seen, moved->handoffs);
        return moved.has_value() && one_holder_each(*moved) && !moved->held[2].empty() &&
               moved->handoffs == 0;
      },
      kDeadline))
      << "writes acked " << acked_count() << ", last errors " << writes0.last_error() << " / "
      << writes1.last_error() << cluster.logs_tail(30);
  writes0.stop();
  writes1.stop();
  searches.stop();

  // The load ran during the move, and nothing of it failed.
  std::vector<PointId> acked = writes0.acked();
  for (const auto& id : writes1.acked()) acked.push_back(id);
  const size_t failed_points = writes0.failed_points() + writes1.failed_points();
  EXPECT_GT(acked.size(), acked_at_join);
  EXPECT_EQ(failed_points, 0u) << writes0.last_error() << " / " << writes1.last_error();
  EXPECT_GT(searches.answered(), 0u);
  EXPECT_EQ(searches.failed(), 0u) << searches.last_error();

  // Every acknowledged write is there, read through every node.
  for (size_t n = 0; n < cluster.size(); ++n) {
    SCOPED_TRACE(cluster.node(n).name);
    const std::string& address = cluster.node(n).client_address;
    auto counted = with_client(address, [&](Client& c) { return c.count(collection); });
    ASSERT_TRUE(counted.ok()) << counted.status();
    EXPECT_GE(*counted, acked.size());
    EXPECT_LE(*counted, acked.size() + failed_points);
    for (size_t from = 0; from < acked.size(); from += 500) {
      std::vector<PointId> part(acked.begin() + from,
                                acked.begin() + std::min(acked.size(), from + 500));
      auto got = with_client(address, [&](Client& c) {
        return c.get(collection, part, {.with_vector = true, .with_payload = true});
      });
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->size(), part.size());
      for (size_t i = 0; i < part.size(); ++i) {
        EXPECT_EQ((*got)[i].vector, vector_of(part[i].as_number()));
      }
    }
  }
  // Each shard the new node took was handed off by its old holder (one log line each), which
  // status showed as retiring meanwhile.
  size_t handed_off = 0;
  for (size_t i : {0, 1}) {
    const std::string log = cluster.node_log(i);
    for (size_t at = log.find("handed off to"); at != std::string::npos;
         at = log.find("handed off to", at + 1)) {
      ++handed_off;
    }
  }
  EXPECT_EQ(handed_off, moved->held[2].size()) << cluster.logs_tail(30);
  std::cout << "moved " << moved->held[2].size() << " shards; " << acked.size()
            << " points acknowledged (" << acked.size() - acked_at_join << " after the join); "
            << searches.answered() << " searches; " << max_handoffs_seen
            << " hand-offs seen in one status round\n";

  // Placement stays where it settled.
  auto settled = placement(cluster, collection, {0, 1, 2});
  ASSERT_TRUE(settled.has_value());
  EXPECT_EQ(settled->held, moved->held);
}

}  // namespace
}  // namespace meridian

namespace meridian {
namespace {

// The hand-offs node `node` reports in its status (nullopt when it does not answer).
std::optional<std::vector<client::NodeStatus::Handoff>> handoffs_of(LocalCluster& cluster,
                                                                    size_t node) {
  auto status =
      with_client(cluster.node(node).client_address, [](Client& c) { return c.status(); });
  if (!status.ok()) return std::nullopt;
  return status->handoffs;
}

// With replication factor 2, a joining node replaces one of a shard's two old owners; the old
// owner it replaces keeps its replica while the other owner is down (and status says which owner
// it waits for), and hands it off once that owner is back and caught up.
TEST(ShardMovesTest, ReplicaIsKeptWhileAnOwnerIsDownAndHandedOffWhenItIsBack) {
  TempDir dir;
  LocalClusterOptions options;
  options.regions = {"a"};
  options.nodes_per_region = 3;
  options.deferred_nodes = {2};
  auto started = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto joining = cluster.prepare_node(2);
  ASSERT_TRUE(joining.ok()) << joining.status();
  std::vector<std::string> ids;
  ASSERT_TRUE(wait_until(
      [&] {
        ids.clear();
        for (size_t i : {0, 1}) {
          auto status =
              with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
          if (!status.ok() || status->members.size() != 1) return false;
          ids.push_back(status->node_id);
        }
        return true;
      },
      kDeadline))
      << cluster.logs_tail();
  ids.push_back(*joining);
  // A collection with a shard whose owners become nodes 1 and 2: node 0 hands that one off.
  std::string collection;
  uint32_t moving = 0;
  for (int n = 0; collection.empty() && n < 1000; ++n) {
    const std::string name = absl::StrCat("docs", n);
    for (uint32_t s = 0; s < kShards && collection.empty(); ++s) {
      auto owners = node::shard_owners(name, s, ids, 2);
      std::sort(owners.begin(), owners.end());
      std::vector<std::string> expected = {ids[1], ids[2]};
      std::sort(expected.begin(), expected.end());
      if (owners == expected) {
        collection = name;
        moving = s;
      }
    }
  }
  ASSERT_FALSE(collection.empty());
  CollectionConfig config{collection, kDim, Metric::kL2};
  config.shard_count = kShards;
  config.replication_factor = 2;
  auto created = with_client(cluster.node(0).client_address,
                             [&](Client& c) { return c.create_collection(config); });
  ASSERT_TRUE(created.ok()) << created.status();
  auto write = [&](uint64_t from, uint64_t to) -> absl::StatusOr<client::WriteResult> {
    std::vector<PointData> batch;
    for (uint64_t id = from; id < to; ++id) {
      batch.push_back({PointId::number(id), vector_of(id), ""});
    }
    return with_client(cluster.node(0).client_address,
                       [&](Client& c) { return c.upsert(collection, batch); });
  };
  // Both hold every shard, and node 0 replicates each with node 1.
  ASSERT_TRUE(wait_until(
      [&] {
        auto p = placement(cluster, collection, {0, 1});
        if (!p.has_value() || p->held[0].size() != kShards || p->held[1].size() != kShards) {
          return false;
        }
        auto status =
            with_client(cluster.node(0).client_address, [](Client& c) { return c.status(); });
        if (!status.ok()) return false;
        std::set<uint32_t> replicating;
        for (const auto& r : status->replication) {
          if (r.collection == collection && r.node_id == ids[1] && r.connected) {
            replicating.insert(r.shard);
          }
        }
        return replicating.size() == kShards;
      },
      kDeadline))
      << cluster.logs_tail();
  auto first = write(0, 200);
  ASSERT_TRUE(first.ok()) << first.status();

  // Node 1 goes down; node 2 joins and catches up from node 0; more writes meanwhile.
  ASSERT_TRUE(cluster.kill_node(1).ok());
  ASSERT_TRUE(cluster.restart_node(2).ok()) << cluster.logs_tail();
  auto second = write(200, 400);
  ASSERT_TRUE(second.ok()) << second.status();
  // Node 0 keeps the moving shard: node 2 has everything, node 1 is not reachable (status says
  // so: the one owner it waits for, and why).
  std::vector<client::NodeStatus::Handoff> seen;
  ASSERT_TRUE(wait_until(
      [&] {
        auto h = handoffs_of(cluster, 0);
        if (!h.has_value()) return false;
        seen = *h;
        for (const auto& handoff : *h) {
          if (handoff.collection != collection || handoff.shard != moving) continue;
          return handoff.lagging.size() == 1 && handoff.lagging[0].node_id == ids[1] &&
                 (handoff.lagging[0].reason == "not connected" ||
                  handoff.lagging[0].reason == "down") &&
                 !handoff.forwarding_writes;
        }
        return false;
      },
      kDeadline))
      << seen.size() << " hand-offs" << cluster.logs_tail(30);
  auto p = placement(cluster, collection, {0, 2});
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->held[0].contains(moving));
  EXPECT_TRUE(p->held[1].contains(moving));

  // Node 1 is back: it catches up, and node 0 (like node 1, for the shards node 2 took from it)
  // hands off; every shard ends with exactly two holders and every write is there.
  ASSERT_TRUE(cluster.restart_node(1).ok()) << cluster.logs_tail();
  ASSERT_TRUE(wait_until(
      [&] {
        auto settled = placement(cluster, collection, {0, 1, 2});
        if (!settled.has_value() || settled->handoffs != 0) return false;
        for (uint32_t s = 0; s < kShards; ++s) {
          size_t holders = 0;
          for (const auto& held : settled->held) holders += held.contains(s);
          if (holders != 2) return false;
        }
        return !settled->held[0].contains(moving);
      },
      kDeadline))
      << cluster.logs_tail(30);
  for (size_t n = 0; n < cluster.size(); ++n) {
    SCOPED_TRACE(cluster.node(n).name);
    auto counted = with_client(cluster.node(n).client_address, [&](Client& c) {
      return c.count(collection, second->causal_token);
    });
    ASSERT_TRUE(counted.ok()) << counted.status();
    EXPECT_EQ(*counted, 400u);
  }
}

}  // namespace
}  // namespace meridian
