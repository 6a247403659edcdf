// A geo-replicated cluster of real processes (tests/support/cluster_process.h): three regions of
// one meridiand each, every byte between regions through meridian-chaos-proxy (30..80 ms each
// way). Causal reads across regions, the replicated collection catalog, add-wins under concurrent
// upserts and deletes, partitions, kill -9 and a wiped disk, and the status a node reports.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "crypto/key_file.h"
#include "tests/support/cluster_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::LocalCluster;
using testing::LocalClusterOptions;
using testing::TempDir;
using testing::wait_converged;
using testing::wait_until;
using testing::with_client;
using namespace std::chrono_literals;

constexpr auto kConverge = 30s;
constexpr uint32_t kDim = 8;
// Nodes of the default cluster: one per region.
constexpr size_t kA = 0, kB = 1, kC = 2;

// The vector that version `version` of point `id` holds: every write is recognisable.
std::vector<float> vector_of(uint64_t id, uint32_t version) {
  std::vector<float> v(kDim);
  for (uint32_t d = 0; d < kDim; ++d) {
    v[d] = static_cast<float>(id % 1000) * 0.01f + static_cast<float>(version * 10 + d);
  }
  return v;
}

std::vector<PointData> make_points(uint64_t first, uint64_t n, uint32_t version) {
  std::vector<PointData> out;
  for (uint64_t id = first; id < first + n; ++id) {
    out.push_back({PointId::number(id), vector_of(id, version),
                   absl::StrCat("{\"id\":", id, ",\"version\":", version, "}")});
  }
  return out;
}

std::vector<PointId> id_range(uint64_t first, uint64_t n) {
  std::vector<PointId> out;
  for (uint64_t id = first; id < first + n; ++id) out.push_back(PointId::number(id));
  return out;
}

CollectionConfig flat(const std::string& name, uint32_t dim = kDim, Metric metric = Metric::kL2) {
  return {name, dim, metric, IndexKind::kFlat};
}

void start_cluster(const TempDir& dir, std::unique_ptr<LocalCluster>& out,
                   LocalClusterOptions options = {}) {
  auto cluster = LocalCluster::start(dir.path(), std::move(options));
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  out = *std::move(cluster);
}

// Creates `config` on node `origin` and waits until every live node serves it alike.
void create_everywhere(LocalCluster& cluster, size_t origin, const CollectionConfig& config) {
  auto created = with_client(cluster.node(origin).client_address,
                             [&](Client& c) { return c.create_collection(config); });
  ASSERT_TRUE(created.ok()) << created.status();
  std::string last;
  bool everywhere = wait_until(
      [&] {
        for (size_t i : cluster.live_nodes()) {
          auto info = with_client(cluster.node(i).client_address,
                                  [&](Client& c) { return c.collection_info(config.name); });
          if (!info.ok() || !(info->config == config)) {
            last = absl::StrCat(cluster.node(i).name, ": ", info.status().ToString());
            return false;
          }
        }
        return true;
      },
      kConverge);
  ASSERT_TRUE(everywhere) << "collection '" << config.name << "' did not reach every node (" << last
                          << ")\n"
                          << cluster.logs_tail();
}

absl::StatusOr<client::WriteResult> upsert_on(LocalCluster& cluster, size_t node,
                                              const std::string& collection,
                                              const std::vector<PointData>& points) {
  return with_client(cluster.node(node).client_address,
                     [&](Client& c) { return c.upsert(collection, points); });
}

absl::StatusOr<client::WriteResult> remove_on(LocalCluster& cluster, size_t node,
                                              const std::string& collection,
                                              const std::vector<PointId>& ids) {
  return with_client(cluster.node(node).client_address,
                     [&](Client& c) { return c.remove(collection, ids); });
}

// The points among `ids` that `client` holds, by numeric id, with their vectors.
absl::StatusOr<std::map<uint64_t, std::vector<float>>> read_points(
    Client& c, const std::string& collection, const std::vector<PointId>& ids) {
  std::map<uint64_t, std::vector<float>> out;
  constexpr size_t kChunk = 2000;
  for (size_t at = 0; at < ids.size(); at += kChunk) {
    std::vector<PointId> chunk(ids.begin() + at, ids.begin() + std::min(ids.size(), at + kChunk));
    auto got = c.get(collection, chunk, {.with_vector = true});
    if (!got.ok()) return got.status();
    for (auto& p : *got) out[p.id.as_number()] = std::move(p.vector);
  }
  return out;
}

// What a converged collection must hold: per id the versions it may have (one, except where two
// writes were concurrent and either may win), and ids that must be absent.
struct Oracle {
  std::map<uint64_t, std::set<uint32_t>> present;
  std::set<uint64_t> absent;

  void put(uint64_t first, uint64_t n, uint32_t version) {
    for (uint64_t id = first; id < first + n; ++id) {
      present[id] = {version};
      absent.erase(id);
    }
  }
  void erase(uint64_t first, uint64_t n) {
    for (uint64_t id = first; id < first + n; ++id) {
      present.erase(id);
      absent.insert(id);
    }
  }
  std::vector<PointId> probe_ids() const {
    std::vector<PointId> out;
    for (const auto& [id, unused] : present) out.push_back(PointId::number(id));
    for (uint64_t id : absent) out.push_back(PointId::number(id));
    return out;
  }
};

// Checks node `i`'s copy of `collection` point by point against `oracle`.
void expect_matches_oracle(LocalCluster& cluster, size_t i, const std::string& collection,
                           const Oracle& oracle) {
  auto got = with_client(cluster.node(i).client_address,
                         [&](Client& c) { return read_points(c, collection, oracle.probe_ids()); });
  ASSERT_TRUE(got.ok()) << cluster.node(i).name << ": " << got.status();
  int reported = 0;
  auto report = [&](const std::string& what) {
    if (++reported <= 10) ADD_FAILURE() << cluster.node(i).name << ": " << what;
  };
  for (const auto& [id, versions] : oracle.present) {
    auto it = got->find(id);
    if (it == got->end()) {
      report(absl::StrCat("acknowledged point ", id, " is missing"));
      continue;
    }
    bool known = std::any_of(versions.begin(), versions.end(),
                             [&](uint32_t v) { return it->second == vector_of(id, v); });
    if (!known) report(absl::StrCat("point ", id, " holds a vector no winning write wrote"));
  }
  for (uint64_t id : oracle.absent) {
    if (got->contains(id)) report(absl::StrCat("deleted point ", id, " is back"));
  }
  EXPECT_EQ(reported, 0) << cluster.node(i).name << ": " << reported << " mismatches";
}

// Waits for identical digests and `oracle.present.size()` points on every live node, then checks
// every node against the oracle.
void expect_converged_to(LocalCluster& cluster, const std::string& collection,
                         const Oracle& oracle) {
  auto converged = wait_converged(cluster, collection, oracle.present.size(), kConverge);
  ASSERT_TRUE(converged.ok()) << converged.status() << "\n" << cluster.logs_tail();
  for (size_t i : cluster.live_nodes()) {
    ASSERT_NO_FATAL_FAILURE(expect_matches_oracle(cluster, i, collection, oracle));
  }
}

// 1. A write in region A is visible in B and C: at once for reads carrying its causal token
// (the read waits), eventually for reads without one.
TEST(ClusterTest, CausalTokenReadsSeeARemoteWriteAtOnce) {
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("docs")));

  auto written = upsert_on(*cluster, kA, "docs", make_points(0, 100, 1));
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_FALSE(written->causal_token.empty());
  const std::string token = written->causal_token;

  // B: a get with the token returns every point of the write, with its vector.
  auto got = with_client(cluster->node(kB).client_address, [&](Client& c) {
    return c.get("docs", id_range(0, 100), {.with_vector = true, .consistency_token = token});
  });
  ASSERT_TRUE(got.ok()) << got.status() << "\n" << cluster->logs_tail();
  ASSERT_EQ(got->size(), 100u);
  EXPECT_EQ((*got)[42].id, PointId::number(42));
  EXPECT_EQ((*got)[42].vector, vector_of(42, 1));
  // C: a search and a count with the token see it too.
  auto found = with_client(cluster->node(kC).client_address, [&](Client& c) {
    client::SearchRequest request{"docs", vector_of(77, 1), 1, true, false};
    request.consistency_token = token;
    return c.search(request);
  });
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_EQ((*found)[0][0].id, PointId::number(77));
  EXPECT_EQ((*found)[0][0].payload_json, R"({"id":77,"version":1})");
  auto counted = with_client(cluster->node(kC).client_address,
                             [&](Client& c) { return c.count("docs", token); });
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, 100u);

  // Without a token the write shows up eventually.
  ASSERT_TRUE(upsert_on(*cluster, kA, "docs", make_points(100, 100, 1)).ok());
  for (size_t i : {kB, kC}) {
    uint64_t last = 0;
    bool visible = wait_until(
        [&] {
          auto n = with_client(cluster->node(i).client_address,
                               [&](Client& c) { return c.count("docs"); });
          last = n.ok() ? *n : 0;
          return last == 200;
        },
        kConverge);
    EXPECT_TRUE(visible) << cluster->node(i).name << " has " << last << " of 200 points";
  }
  auto converged = wait_converged(*cluster, "docs", 200, kConverge);
  EXPECT_TRUE(converged.ok()) << converged.status();
}

// 2. The collection catalog: creates and drops reach every region; concurrent creates of one
// name resolve alike everywhere (different settings: the earliest create wins and the loser's
// data is discarded; equal settings: one collection with the data of both).
TEST(ClusterTest, CatalogReplicatesCreatesDropsAndResolvesConcurrentCreates) {
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));

  const CollectionConfig from_b = flat("from-b", 8, Metric::kCosine);
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kB, from_b));
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kC).client_address,
                                 [](Client& c) { return c.drop_collection("from-b"); }));
  std::string last;
  bool gone = wait_until(
      [&] {
        for (size_t i : {kA, kB, kC}) {
          auto info = with_client(cluster->node(i).client_address,
                                  [](Client& c) { return c.collection_info("from-b"); });
          auto list = with_client(cluster->node(i).client_address,
                                  [](Client& c) { return c.list_collections(); });
          if (info.status().code() != absl::StatusCode::kNotFound || !list.ok() || !list->empty()) {
            last = absl::StrCat(cluster->node(i).name, ": ", info.status().ToString());
            return false;
          }
        }
        return true;
      },
      kConverge);
  ASSERT_TRUE(gone) << "the drop did not reach every node (" << last << ")\n"
                    << cluster->logs_tail();
  // Created again (a new generation) with other settings: the new one everywhere, empty.
  MERIDIAN_EXPECT_CODE(upsert_on(*cluster, kB, "from-b", make_points(0, 1, 1)),
                       absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("from-b", 4)));
  ASSERT_TRUE(wait_converged(*cluster, "from-b", 0, kConverge).ok()) << cluster->logs_tail();

  // Concurrent creates: region A is cut off while it and B create "contested" with different
  // settings, and while A and C create "shared" with the same settings.
  MERIDIAN_ASSERT_OK(cluster->cut_region("a"));
  const CollectionConfig a_settings = flat("contested", 4, Metric::kL2);
  const CollectionConfig b_settings = flat("contested", 16, Metric::kDot);
  std::vector<PointData> a_points, b_points;
  for (uint64_t id = 0; id < 10; ++id) {
    a_points.push_back({PointId::number(id), std::vector<float>(4, float(id)), ""});
    b_points.push_back({PointId::number(100 + id), std::vector<float>(16, float(id)), ""});
  }
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kA).client_address,
                                 [&](Client& c) { return c.create_collection(a_settings); }));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kA, "contested", a_points));
  // The catalog orders conflicting creates by their millisecond timestamps: make B's later.
  const auto a_created = std::chrono::system_clock::now();
  ASSERT_TRUE(
      wait_until([&] { return std::chrono::system_clock::now() - a_created > 5ms; }, 1s, 1ms));
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kB).client_address,
                                 [&](Client& c) { return c.create_collection(b_settings); }));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kB, "contested", b_points));
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kA).client_address,
                                 [&](Client& c) { return c.create_collection(flat("shared")); }));
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kC).client_address,
                                 [&](Client& c) { return c.create_collection(flat("shared")); }));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kA, "shared", make_points(0, 10, 1)));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kC, "shared", make_points(10, 10, 2)));
  // While cut, B and C agree on B's "contested" and A keeps its own.
  auto on_c = wait_until(
      [&] {
        auto info = with_client(cluster->node(kC).client_address,
                                [](Client& c) { return c.collection_info("contested"); });
        return info.ok() && info->config == b_settings;
      },
      kConverge);
  ASSERT_TRUE(on_c) << cluster->logs_tail();
  auto on_a = with_client(cluster->node(kA).client_address,
                          [](Client& c) { return c.collection_info("contested"); });
  ASSERT_TRUE(on_a.ok());
  EXPECT_EQ(on_a->config, a_settings);

  MERIDIAN_ASSERT_OK(cluster->heal_region("a"));
  bool resolved = wait_until(
      [&] {
        for (size_t i : {kA, kB, kC}) {
          auto info = with_client(cluster->node(i).client_address,
                                  [](Client& c) { return c.collection_info("contested"); });
          if (!info.ok() || !(info->config == a_settings)) {
            last = absl::StrCat(cluster->node(i).name, ": ", info.status().ToString(),
                                info.ok() ? absl::StrCat(" dim ", info->config.dim) : "");
            return false;
          }
        }
        return true;
      },
      kConverge);
  ASSERT_TRUE(resolved) << "\"contested\" did not resolve to A's earlier create everywhere ("
                        << last << ")\n"
                        << cluster->logs_tail();
  // Every node reports B's losing create (region, time, settings) in the collection's info.
  bool reported = wait_until(
      [&] {
        for (size_t i : {kA, kB, kC}) {
          auto info = with_client(cluster->node(i).client_address,
                                  [](Client& c) { return c.collection_info("contested"); });
          if (!info.ok() || info->conflicts.size() != 1) {
            last = absl::StrCat(
                cluster->node(i).name, ": ", info.status().ToString(),
                info.ok() ? absl::StrCat(" ", info->conflicts.size(), " conflicts") : "");
            return false;
          }
          const client::CatalogConflict& lost = info->conflicts[0];
          EXPECT_EQ(lost.region, "b");
          EXPECT_EQ(lost.config, b_settings);
          EXPECT_GT(lost.created_ms, 0u);
        }
        return true;
      },
      kConverge);
  ASSERT_TRUE(reported) << "the losing create was not reported everywhere (" << last << ")\n"
                        << cluster->logs_tail();
  // The winner's points everywhere; none of the loser's.
  auto contested = wait_converged(*cluster, "contested", 10, kConverge);
  EXPECT_TRUE(contested.ok()) << contested.status() << "\n" << cluster->logs_tail();
  auto ids = with_client(cluster->node(kB).client_address,
                         [](Client& c) { return c.get("contested", id_range(0, 110), {}); });
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 10u);
  EXPECT_EQ(ids->back().id, PointId::number(9));
  // Alike creates are one collection holding both regions' writes.
  Oracle shared;
  shared.put(0, 10, 1);
  shared.put(10, 10, 2);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "shared", shared));
  for (size_t i : {kA, kB, kC}) {
    auto info = with_client(cluster->node(i).client_address,
                            [](Client& c) { return c.collection_info("shared"); });
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->config, flat("shared"));
  }

  // A drop in a cut-off region wins over writes made elsewhere meanwhile.
  MERIDIAN_ASSERT_OK(cluster->cut_region("a"));
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kA).client_address,
                                 [](Client& c) { return c.drop_collection("shared"); }));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kC, "shared", make_points(100, 10, 3)));
  MERIDIAN_ASSERT_OK(cluster->heal_region("a"));
  bool dropped = wait_until(
      [&] {
        for (size_t i : {kA, kB, kC}) {
          auto info = with_client(cluster->node(i).client_address,
                                  [](Client& c) { return c.collection_info("shared"); });
          if (info.status().code() != absl::StatusCode::kNotFound) {
            last = absl::StrCat(cluster->node(i).name, ": ", info.status().ToString());
            return false;
          }
        }
        return true;
      },
      kConverge);
  EXPECT_TRUE(dropped) << "the drop made while cut off did not win (" << last << ")";
}

// Runs `work` on a thread of its own (it may hold a Client there); returns its status on join.
class Worker {
 public:
  explicit Worker(std::function<absl::Status()> work)
      : thread_([this, work = std::move(work)] { status_ = work(); }) {}
  ~Worker() {
    if (thread_.joinable()) thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  absl::Status join() {
    thread_.join();
    return status_;
  }

 private:
  absl::Status status_;
  std::thread thread_;
};

// 3. The same ids upserted and deleted concurrently in different regions. First with every
// region cut off from the others, so that which writes are concurrent is known and add-wins can
// be checked exactly; then racing over live links, where only convergence and the ids no one
// deleted can be checked.
TEST(ClusterTest, ConcurrentUpsertsAndDeletesConvergeAddWins) {
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("race")));
  Oracle oracle;
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kB, "race", make_points(0, 1000, 1)));
  oracle.put(0, 1000, 1);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "race", oracle));

  for (const char* region : {"a", "b", "c"}) MERIDIAN_ASSERT_OK(cluster->cut_region(region));
  {
    const std::string a = cluster->node(kA).client_address;
    const std::string b = cluster->node(kB).client_address;
    const std::string c = cluster->node(kC).client_address;
    Worker in_a([&] {
      return with_client(a, [](Client& client) -> absl::Status {
        const std::pair<uint64_t, uint64_t> ranges[] = {{0, 250}, {950, 50}, {500, 10}};
        for (auto [first, n] : ranges) {
          if (auto w = client.upsert("race", make_points(first, n, 2)); !w.ok()) return w.status();
        }
        return absl::OkStatus();
      });
    });
    Worker in_b([&] {
      return with_client(b, [](Client& client) -> absl::Status {
        if (auto w = client.remove("race", id_range(0, 500)); !w.ok()) return w.status();
        // A delete that observed an upsert removes it for good.
        if (auto w = client.upsert("race", make_points(1000, 50, 4)); !w.ok()) return w.status();
        return client.remove("race", id_range(1000, 50)).status();
      });
    });
    Worker in_c([&] {
      return with_client(c, [](Client& client) -> absl::Status {
        if (auto w = client.upsert("race", make_points(400, 200, 3)); !w.ok()) return w.status();
        return client.remove("race", id_range(900, 100)).status();
      });
    });
    MERIDIAN_ASSERT_OK(in_a.join());
    MERIDIAN_ASSERT_OK(in_b.join());
    MERIDIAN_ASSERT_OK(in_c.join());
  }
  // Every region saw only its own writes.
  const std::pair<size_t, uint64_t> while_cut[] = {{kA, 1000}, {kB, 500}, {kC, 900}};
  for (auto [node, expected] : while_cut) {
    auto n =
        with_client(cluster->node(node).client_address, [](Client& c) { return c.count("race"); });
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, expected) << cluster->node(node).name << " while cut off";
  }
  for (const char* region : {"a", "b", "c"}) MERIDIAN_ASSERT_OK(cluster->heal_region(region));

  oracle.put(0, 250, 2);    // A's upsert beats B's concurrent delete
  oracle.erase(250, 150);   // B's delete, concurrent with no upsert
  oracle.put(400, 200, 3);  // C's upsert beats B's concurrent delete
  for (uint64_t id = 500; id < 510; ++id) oracle.present[id] = {2, 3};  // A and C: either wins
  oracle.erase(900, 50);   // C's delete, concurrent with no upsert
  oracle.put(950, 50, 2);  // A's upsert beats C's concurrent delete
  oracle.erase(1000, 50);  // B deleted what it had written
  ASSERT_EQ(oracle.present.size(), 800u);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "race", oracle));

  // A delete that observed everything: gone everywhere for good.
  MERIDIAN_ASSERT_OK(remove_on(*cluster, kC, "race", id_range(0, 100)));
  oracle.erase(0, 100);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "race", oracle));

  // Racing over live links: A upserts 2000..2999 while B deletes 2000..2499 and C re-upserts
  // 2400..2599. Which deletes observed which upserts depends on timing; ids B never deleted must
  // be present, and every node must hold the same points.
  {
    const std::string a = cluster->node(kA).client_address;
    const std::string b = cluster->node(kB).client_address;
    const std::string c = cluster->node(kC).client_address;
    Worker in_a([&] {
      return with_client(a, [](Client& client) -> absl::Status {
        for (uint64_t first = 2000; first < 3000; first += 100) {
          if (auto w = client.upsert("race", make_points(first, 100, 5)); !w.ok())
            return w.status();
        }
        return absl::OkStatus();
      });
    });
    Worker in_b([&] {
      return with_client(b, [](Client& client) -> absl::Status {
        for (uint64_t first = 2000; first < 2500; first += 50) {
          if (auto w = client.remove("race", id_range(first, 50)); !w.ok()) return w.status();
        }
        return absl::OkStatus();
      });
    });
    Worker in_c([&] {
      return with_client(c, [](Client& client) -> absl::Status {
        for (uint64_t first = 2400; first < 2600; first += 20) {
          if (auto w = client.upsert("race", make_points(first, 20, 6)); !w.ok()) return w.status();
        }
        return absl::OkStatus();
      });
    });
    MERIDIAN_ASSERT_OK(in_a.join());
    MERIDIAN_ASSERT_OK(in_b.join());
    MERIDIAN_ASSERT_OK(in_c.join());
  }
  auto converged = wait_converged(*cluster, "race", std::nullopt, kConverge);
  ASSERT_TRUE(converged.ok()) << converged.status() << "\n" << cluster->logs_tail();
  std::vector<std::map<uint64_t, std::vector<float>>> views;
  for (size_t i : {kA, kB, kC}) {
    auto view = with_client(cluster->node(i).client_address,
                            [](Client& c) { return read_points(c, "race", id_range(0, 3000)); });
    ASSERT_TRUE(view.ok()) << view.status();
    views.push_back(*std::move(view));
  }
  EXPECT_EQ(views[0], views[1]);
  EXPECT_EQ(views[0], views[2]);
  EXPECT_EQ(views[0].size(), converged->point_count);
  for (uint64_t id = 2500; id < 3000; ++id) {
    auto it = views[0].find(id);
    ASSERT_NE(it, views[0].end()) << "point " << id << " was never deleted but is missing";
    bool known = it->second == vector_of(id, 5) || (id < 2600 && it->second == vector_of(id, 6));
    EXPECT_TRUE(known) << "point " << id;
  }
}

// 4. Region A is partitioned from B and C while every region writes and deletes; after the heal
// all converge, every acknowledged write is present and no deleted id comes back. A causal token
// from A cannot be satisfied in B during the partition, and is after it.
TEST(ClusterTest, PartitionedRegionsWriteThenConvergeAfterHeal) {
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kB, flat("events")));
  Oracle oracle;
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kB, "events", make_points(0, 300, 1)));
  oracle.put(0, 300, 1);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "events", oracle));

  MERIDIAN_ASSERT_OK(cluster->cut_region("a"));
  // Per region: 10 batches of 50 new points from `base` (the first batch deleted again after
  // the fifth), and a delete of 50 of the initial points, which no one writes again.
  struct Plan {
    size_t node;
    uint64_t base;
    uint32_t version;
    uint64_t initial_deleted;
  };
  const std::vector<Plan> plans = {{kA, 10000, 2, 150}, {kB, 20000, 3, 0}, {kC, 30000, 4, 100}};
  constexpr uint64_t kBatch = 50, kBatches = 10;
  std::string token;
  {
    std::vector<std::unique_ptr<Worker>> workers;
    for (const Plan& plan : plans) {
      const std::string address = cluster->node(plan.node).client_address;
      workers.push_back(std::make_unique<Worker>([address, plan] {
        return with_client(address, [&](Client& client) -> absl::Status {
          for (uint64_t b = 0; b < kBatches; ++b) {
            auto w =
                client.upsert("events", make_points(plan.base + b * kBatch, kBatch, plan.version));
            if (!w.ok()) return w.status();
            if (b == 2) {
              auto r = client.remove("events", id_range(plan.initial_deleted, 50));
              if (!r.ok()) return r.status();
            }
            if (b == 5) {
              auto r = client.remove("events", id_range(plan.base, kBatch));
              if (!r.ok()) return r.status();
            }
          }
          return absl::OkStatus();
        });
      }));
    }
    // Meanwhile: a token of a write in A, read in B, cannot be satisfied across the cut.
    auto written = upsert_on(*cluster, kA, "events", make_points(9999, 1, 9));
    ASSERT_TRUE(written.ok()) << written.status();
    token = written->causal_token;
    auto blocked = with_client(cluster->node(kB).client_address, [&](Client& c) {
      return c.get("events", id_range(9999, 1), {.consistency_token = token});
    });
    MERIDIAN_EXPECT_CODE(blocked, absl::StatusCode::kDeadlineExceeded);
    for (auto& w : workers) MERIDIAN_ASSERT_OK(w->join());
  }
  oracle.put(9999, 1, 9);
  Oracle only_a = oracle, only_bc = oracle;
  for (const Plan& plan : plans) {
    Oracle& side = plan.node == kA ? only_a : only_bc;
    for (Oracle* o : {&oracle, &side}) {
      o->put(plan.base, kBatch * kBatches, plan.version);
      o->erase(plan.base, kBatch);
      o->erase(plan.initial_deleted, 50);
    }
  }
  only_bc.erase(9999, 1);
  // During the partition B and C converge with each other and A keeps its own writes only.
  auto bc = wait_until(
      [&] {
        auto n_b = with_client(cluster->node(kB).client_address,
                               [](Client& c) { return c.collection_info("events"); });
        auto n_c = with_client(cluster->node(kC).client_address,
                               [](Client& c) { return c.collection_info("events"); });
        return n_b.ok() && n_c.ok() && n_b->digest == n_c->digest &&
               n_b->point_count == only_bc.present.size();
      },
      kConverge);
  ASSERT_TRUE(bc) << "B and C did not converge while A was cut off\n" << cluster->logs_tail();
  ASSERT_NO_FATAL_FAILURE(expect_matches_oracle(*cluster, kB, "events", only_bc));
  ASSERT_NO_FATAL_FAILURE(expect_matches_oracle(*cluster, kA, "events", only_a));
  auto on_a =
      with_client(cluster->node(kA).client_address, [](Client& c) { return c.count("events"); });
  ASSERT_TRUE(on_a.ok()) << on_a.status();
  EXPECT_EQ(*on_a, only_a.present.size()) << "writes crossed the partition into A";

  MERIDIAN_ASSERT_OK(cluster->heal_region("a"));
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "events", oracle));
  auto seen = with_client(cluster->node(kB).client_address, [&](Client& c) {
    return c.get("events", id_range(9999, 1), {.consistency_token = token});
  });
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->size(), 1u);
}

// 4b. Two nodes per region: a partition of region A from B leaves replication inside each
// region going (in-region traffic does not cross the proxy); after the heal all four converge.
TEST(ClusterTest, PartitionKeepsReplicationInsideEachRegion) {
  TempDir dir;
  LocalClusterOptions options;
  options.regions = {"a", "b"};
  options.nodes_per_region = 2;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster, options));
  ASSERT_EQ(cluster->size(), 4u);
  const std::vector<size_t> a = cluster->nodes_in("a"), b = cluster->nodes_in("b");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, a[0], flat("local")));

  MERIDIAN_ASSERT_OK(cluster->cut_region("a"));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, a[0], "local", make_points(0, 100, 1)));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, b[1], "local", make_points(100, 50, 2)));
  // Each region converges on its own writes.
  for (const auto& [region, expected] : {std::pair{a, 100u}, std::pair{b, 50u}}) {
    std::string last;
    bool agreed = wait_until(
        [&] {
          last.clear();
          for (size_t i : region) {
            auto n = with_client(cluster->node(i).client_address,
                                 [](Client& c) { return c.count("local"); });
            absl::StrAppend(&last, " ", cluster->node(i).name, ": ",
                            n.ok() ? absl::StrCat(*n) : n.status().ToString());
            if (!n.ok() || *n != expected) return false;
          }
          return true;
        },
        kConverge);
    EXPECT_TRUE(agreed) << "inside a region while cut:" << last;
  }
  MERIDIAN_ASSERT_OK(cluster->heal_region("a"));
  Oracle oracle;
  oracle.put(0, 100, 1);
  oracle.put(100, 50, 2);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "local", oracle));
}

// The status node `i` reports.
absl::StatusOr<client::NodeStatus> node_status(LocalCluster& cluster, size_t i) {
  return with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
}

// 5a. kill -9 of a node while another region streams writes to it, and of the writing node right
// after an acknowledged write: both restart on their own data dir and ports and catch up. The
// nodes encrypt at rest (master key files), so the restart reopens sealed data.
TEST(ClusterTest, KilledNodesRestartAndCatchUp) {
  TempDir dir;
  LocalClusterOptions options;
  for (const char* name : {"a.key", "b.key", "c.key"}) {
    options.key_files.push_back(dir.path() / name);
    ASSERT_TRUE(crypto::write_new_key_file(options.key_files.back()).ok());
  }
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster, options));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("stream")));

  // A stream of writes into A, until told to stop.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acknowledged{0};
  constexpr uint64_t kBatch = 100;
  Worker writer([&, address = cluster->node(kA).client_address] {
    return with_client(address, [&](Client& client) -> absl::Status {
      while (!stop.load()) {
        auto w = client.upsert("stream", make_points(acknowledged.load(), kBatch, 1));
        if (!w.ok()) return w.status();
        acknowledged += kBatch;
      }
      return absl::OkStatus();
    });
  });
  auto count_on = [&](size_t i) -> uint64_t {
    auto n =
        with_client(cluster->node(i).client_address, [](Client& c) { return c.count("stream"); });
    return n.ok() ? *n : 0;
  };
  // Kill C while deltas flow into it, keep writing while it is down, restart it mid-stream.
  bool streaming = wait_until([&] { return count_on(kC) >= 500; }, kConverge, 10ms);
  EXPECT_TRUE(streaming) << cluster->logs_tail();
  MERIDIAN_EXPECT_OK(cluster->kill_node(kC));
  const uint64_t at_kill = acknowledged.load();
  EXPECT_TRUE(wait_until([&] { return acknowledged.load() >= at_kill + 1000; }, kConverge));
  auto restarted = cluster->restart_node(kC);
  if (restarted.ok()) {
    // Caught up past what was written while it was down, with writes still flowing.
    EXPECT_TRUE(wait_until([&] { return count_on(kC) >= at_kill + 1000; }, kConverge))
        << cluster->logs_tail();
  }
  stop = true;
  MERIDIAN_ASSERT_OK(writer.join());
  MERIDIAN_ASSERT_OK(restarted);
  Oracle oracle;
  oracle.put(0, acknowledged.load(), 1);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "stream", oracle));

  // The writer dies right after an acknowledged write; its deltas still reach everyone.
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kA, "stream", make_points(1'000'000, 500, 2)));
  MERIDIAN_ASSERT_OK(remove_on(*cluster, kA, "stream", id_range(0, 100)));
  MERIDIAN_ASSERT_OK(cluster->kill_node(kA));
  MERIDIAN_ASSERT_OK(cluster->restart_node(kA));
  oracle.put(1'000'000, 500, 2);
  oracle.erase(0, 100);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "stream", oracle));
  // And it keeps replicating in both directions.
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kC, "stream", make_points(2'000'000, 50, 3)));
  oracle.put(2'000'000, 50, 3);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "stream", oracle));
}

// 5b. A node whose data directory is lost restarts empty (a new node to the cluster), gets the
// catalog, and is refilled by a full-state transfer.
TEST(ClusterTest, WipedNodeIsRefilledByFullStateTransfer) {
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("docs")));
  Oracle oracle;
  for (uint64_t first = 0; first < 3000; first += 1000) {
    MERIDIAN_ASSERT_OK(upsert_on(*cluster, kA, "docs", make_points(first, 1000, 1)));
  }
  oracle.put(0, 3000, 1);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "docs", oracle));
  // A delete that observed the points (so it wins); the full state must carry it.
  MERIDIAN_ASSERT_OK(remove_on(*cluster, kC, "docs", id_range(0, 200)));
  oracle.erase(0, 200);
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "docs", oracle));
  auto before = node_status(*cluster, kB);
  ASSERT_TRUE(before.ok()) << before.status();

  MERIDIAN_ASSERT_OK(cluster->kill_node(kB));
  MERIDIAN_ASSERT_OK(cluster->wipe_node(kB));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kC, "docs", make_points(5000, 100, 2)));
  oracle.put(5000, 100, 2);
  MERIDIAN_ASSERT_OK(cluster->restart_node(kB));
  auto after = node_status(*cluster, kB);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->node_id, before->node_id) << "a wiped node starts as a new node";
  ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "docs", oracle));

  uint64_t received = 0;
  auto status = node_status(*cluster, kB);
  ASSERT_TRUE(status.ok()) << status.status();
  for (const auto& p : status->replication) {
    if (p.collection == "docs") received += p.full_states_received;
  }
  EXPECT_GT(received, 0u) << "the wiped node was not refilled by a full-state transfer";
  // Whether the refilled node's own writes reach the others: see
  // WipedNodeOnTheSameAddressReplicatesItsOwnWrites (slow tests).
}

// 6. Each node's status lists the other members as up, with their regions and addresses, and a
// connected replication entry per collection and peer once the cluster has converged.
TEST(ClusterTest, StatusListsMembersAndConnectedReplicationPerPeer) {
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("one")));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kC, flat("two", 3)));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kB, "one", make_points(0, 100, 1)));
  ASSERT_TRUE(wait_converged(*cluster, "one", 100, kConverge).ok()) << cluster->logs_tail();
  ASSERT_TRUE(wait_converged(*cluster, "two", 0, kConverge).ok()) << cluster->logs_tail();

  std::map<std::string, std::string> node_ids;  // node name -> node id
  for (size_t i : {kA, kB, kC}) {
    auto s = node_status(*cluster, i);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->region, cluster->node(i).region);
    EXPECT_EQ(s->peer_address, cluster->node(i).peer_address);
    node_ids[cluster->node(i).name] = s->node_id;
  }
  for (size_t i : {kA, kB, kC}) {
    std::string problem;
    bool healthy = wait_until(
        [&] {
          auto s = node_status(*cluster, i);
          if (!s.ok()) {
            problem = s.status().ToString();
            return false;
          }
          std::set<std::string> up;
          for (const auto& m : s->members) {
            if (m.up) up.insert(m.node_id);
          }
          std::set<std::pair<std::string, std::string>> connected;  // (collection, node id)
          for (const auto& p : s->replication) {
            if (p.connected) connected.insert({p.collection, p.node_id});
          }
          for (size_t j : {kA, kB, kC}) {
            if (j == i) continue;
            const std::string& id = node_ids[cluster->node(j).name];
            auto member = std::find_if(s->members.begin(), s->members.end(),
                                       [&](const auto& m) { return m.node_id == id; });
            if (member == s->members.end() || !member->up ||
                member->region != cluster->node(j).region ||
                member->client_address != cluster->node(j).client_address ||
                member->peer_address != cluster->node(j).peer_address) {
              problem = absl::StrCat("member ", cluster->node(j).name, " missing, down or wrong");
              return false;
            }
            for (const char* collection : {"one", "two"}) {
              if (!connected.contains({collection, id})) {
                problem = absl::StrCat("no connected replication of '", collection, "' to ",
                                       cluster->node(j).name);
                return false;
              }
            }
          }
          if (s->members.size() != 2 || s->replication.size() != 4) {
            problem = absl::StrCat(s->members.size(), " members, ", s->replication.size(),
                                   " replication entries");
            return false;
          }
          return true;
        },
        kConverge);
    EXPECT_TRUE(healthy) << cluster->node(i).name << ": " << problem;
  }
}

// The regression tests below run ~65 s together: they run when MERIDIAN_TEST_ALL is set (as in
// `MERIDIAN_TEST_ALL=1 scripts/test.sh`, with the `slow` suites) and skip otherwise.
bool slow_tests_enabled() {
  const char* all = std::getenv("MERIDIAN_TEST_ALL");
  return all != nullptr && std::string(all) == "1";
}

// Regression test for a bug found here (node/cluster_service.cc; fixed: the heartbeat follows
// the wall clock).
// A node's gossip heartbeat starts again at 0 when it restarts, and Membership::merge ignores
// a description whose heartbeat is not above the one already known. So for as long as the node
// had run before a kill -9 (here ~14 s; in production, days), the others ignore what it says
// of itself: a collection created after the restart does not replicate between it and them
// (its new replica id is never learned, and its sessions are refused as "not a peer"), and from
// 10 s (suspect_after_ms) after the kill it is listed as down although it runs.
// Expected: a restarted node is heard at once (e.g. an incarnation, or a heartbeat seeded from
// the wall clock, ordered before the counter). Runs ~30 s when fixed; label it slow then.
TEST(ClusterTest, RestartedNodeIsHeardAtOnceAfterRunningForAWhile) {
  if (!slow_tests_enabled()) GTEST_SKIP() << "slow (~30 s): set MERIDIAN_TEST_ALL=1 to run";
  TempDir dir;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("early")));
  // The scenario needs nodes that have run for a while (28 gossip rounds): write meanwhile.
  const auto started = std::chrono::steady_clock::now();
  uint64_t written = 0;
  while (std::chrono::steady_clock::now() - started < 14s) {
    MERIDIAN_ASSERT_OK(upsert_on(*cluster, kB, "early", make_points(written, 10, 1)));
    written += 10;
    ASSERT_TRUE(wait_converged(*cluster, "early", written, kConverge).ok());
  }
  MERIDIAN_ASSERT_OK(cluster->kill_node(kC));
  MERIDIAN_ASSERT_OK(cluster->restart_node(kC));
  const auto restarted = std::chrono::steady_clock::now();

  // A collection created after the restart replicates between C and the others within seconds
  // (about one second on a healthy cluster).
  MERIDIAN_ASSERT_OK(with_client(cluster->node(kA).client_address,
                                 [](Client& c) { return c.create_collection(flat("late")); }));
  ASSERT_TRUE(wait_until(
      [&] {
        return with_client(cluster->node(kC).client_address,
                           [](Client& c) { return c.collection_info("late"); })
            .ok();
      },
      kConverge));
  MERIDIAN_ASSERT_OK(upsert_on(*cluster, kC, "late", make_points(0, 10, 1)));
  auto late = wait_converged(*cluster, "late", 10, 6s);
  EXPECT_TRUE(late.ok()) << "a collection created after C restarted does not replicate: "
                         << late.status();

  // 11 s after the restart (more than suspect_after_ms after the kill) A lists C as up.
  wait_until([&] { return std::chrono::steady_clock::now() - restarted > 11s; }, 15s, 100ms);
  auto status = node_status(*cluster, kA);
  ASSERT_TRUE(status.ok()) << status.status();
  for (const auto& m : status->members) {
    if (m.region == "c") {
      EXPECT_TRUE(m.up) << "A lists the running, restarted C as down";
    }
  }
}

// Regression test for a bug found here (replication/rpc_endpoint.cc, rpc_shard_host.cc and
// node/cluster_service.cc; fixed: a Hello names the replica it means to reach and is refused by
// any other, and membership keeps one node per peer address). A wiped node restarts with a new node
// id and new replica ids on its old peer address. The others keep its old identity as a member for
// ever and keep dialling the old replica id at that address, with backoff. Such a dial reaches
// the new replica: openSession is routed by shard only (the Hello names no target replica), and
// the new replica accepts it because the dialler is one of its peers (it refuses only while it
// keeps a session it dialled itself and its id is the lower one). It then takes that Hello's
// joined_through, a position in the *old* replica's log, as an acknowledgement of its *own* log.
// When that lands above the peer's real position and within the new log, the false ack sticks
// (acks only move forward): the deltas below it are never sent to that peer, and every later
// interval arrives there as a gap and is dropped, for ever. The peer's status even lists the
// dead identity as connected. Seen first in WipedNodeIsRefilledByFullStateTransfer (about 1 run
// in 6, when both A and C were hit). Here with two regions (no third replica forwards around
// the stuck link); whether a wipe hits depends on the random replica ids and on timing, so the
// test wipes up to six times: it failed at wipe 3, 1, 1 and 1 in four runs.
TEST(ClusterTest, WipedNodeOnTheSameAddressReplicatesItsOwnWrites) {
  if (!slow_tests_enabled()) GTEST_SKIP() << "slow (~30 s): set MERIDIAN_TEST_ALL=1 to run";
  TempDir dir;
  LocalClusterOptions options;
  options.regions = {"a", "b"};
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(start_cluster(dir, cluster, options));
  ASSERT_NO_FATAL_FAILURE(create_everywhere(*cluster, kA, flat("docs")));
  Oracle oracle;
  uint64_t next_id = 0;
  auto write_on = [&](size_t node, uint64_t n) {
    auto w = upsert_on(*cluster, node, "docs", make_points(next_id, n, 1));
    if (w.ok()) oracle.put(next_id, n, 1);
    next_id += n;
    return w.status();
  };
  for (int wipe = 1; wipe <= 6; ++wipe) {
    for (int k = 0; k < 4; ++k) MERIDIAN_ASSERT_OK(write_on(kA, 500));
    ASSERT_NO_FATAL_FAILURE(expect_converged_to(*cluster, "docs", oracle));
    MERIDIAN_ASSERT_OK(cluster->kill_node(kB));
    MERIDIAN_ASSERT_OK(cluster->wipe_node(kB));
    MERIDIAN_ASSERT_OK(cluster->restart_node(kB));
    ASSERT_TRUE(wait_until(
        [&] {
          return with_client(cluster->node(kB).client_address,
                             [](Client& c) { return c.collection_info("docs"); })
              .ok();
        },
        kConverge));
    // The new B writes one point at a time for 6 s while A redials B's old identity (backoff
    // 0.1 s, 0.2 s, ... doubling). The pause only paces the writes.
    const auto restarted = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - restarted < 6s) {
      MERIDIAN_ASSERT_OK(write_on(kB, 1));
      const auto written = std::chrono::steady_clock::now();
      wait_until([&] { return std::chrono::steady_clock::now() - written > 100ms; }, 1s, 20ms);
    }
    auto converged = wait_converged(*cluster, "docs", oracle.present.size(), 15s);
    ASSERT_TRUE(converged.ok()) << "after wipe " << wipe
                                << " the new B's writes do not reach A: " << converged.status();
  }
}

}  // namespace
}  // namespace meridian
