// Node::search under the node's reader lock: searches from several threads run while other
// threads upsert and delete points and the background builder seals, merges and publishes
// segments. Every search must stay correct: fixed anchor points are always found first with
// their exact score, and a point whose delete has returned is never returned again. Meant to be
// run under ThreadSanitizer too (tsan preset).
#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "node/node.h"
#include "tests/node/node_fixture.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using storage::PointRecord;

constexpr uint32_t kDim = 8;
constexpr uint64_t kAnchors = 20;  // ids 0..19: never changed
constexpr uint64_t kDoomed = 300;  // ids 1000..1299: deleted one by one
constexpr uint64_t kDoomedBase = 1000;
constexpr uint64_t kFillerBase = 100000;  // ids written by the upsert thread

class NodeSearchConcurrencyTest : public NodeFixture {
 protected:
  NodeOptions node_options() const override {
    NodeOptions options;
    options.index_build_threads = 2;
    return options;
  }
};

// Anchors sit far apart (a distinct axis each, at 100), so the nearest point to an anchor's
// vector is the anchor itself, at distance 0, whatever else is written.
std::vector<float> anchor_vector(uint64_t i) {
  std::vector<float> v(kDim, 0.0f);
  v[i % kDim] = 100.0f * static_cast<float>(1 + i / kDim);
  return v;
}

std::vector<float> random_vector(std::mt19937& rng) {
  std::normal_distribution<float> g;
  std::vector<float> v(kDim);
  for (float& x : v) x = g(rng);
  return v;
}

void upsert_one(Node& node, const std::string& name, uint64_t id, std::vector<float> v) {
  std::vector<PointRecord> batch(1);
  batch[0].id = PointId::number(id);
  batch[0].vector = std::move(v);
  batch[0].payload_json = R"({"tag":"x"})";
  auto written = node.upsert(name, std::move(batch));
  EXPECT_TRUE(written.ok()) << written.status();
}

TEST_F(NodeSearchConcurrencyTest, ConcurrentSearchesAndWritesStayCorrect) {
  // hnsw with the smallest seal threshold: seals, merges and compactions publish new segments
  // while the searches run; flat: the growing segment only.
  for (IndexKind kind : {IndexKind::kHnsw, IndexKind::kFlat}) {
    const std::string name = kind == IndexKind::kHnsw ? "h" : "f";
    SCOPED_TRACE(name);
    CollectionConfig config{.name = name, .dim = kDim, .metric = Metric::kL2, .index_kind = kind};
    config.segment_seal_points = 100;
    MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
    std::mt19937 rng(5);
    std::vector<std::vector<float>> doomed(kDoomed);
    std::vector<PointRecord> initial;
    for (uint64_t i = 0; i < kAnchors; ++i) {
      initial.push_back(PointRecord{PointId::number(i), anchor_vector(i), R"({"tag":"x"})"});
    }
    for (uint64_t i = 0; i < kDoomed; ++i) {
      doomed[i] = random_vector(rng);
      initial.push_back(PointRecord{PointId::number(kDoomedBase + i), doomed[i], R"({"tag":"x"})"});
    }
    MERIDIAN_ASSERT_OK(node_->upsert(name, std::move(initial)).status());

    // Doomed points 0..deleted-1 have been deleted (their remove() returned).
    std::atomic<uint64_t> deleted{0};
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> searches{0};
    std::atomic<uint64_t> filled{0};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {  // deletes the doomed points in order
      for (uint64_t i = 0; i < kDoomed; ++i) {
        const PointId id = PointId::number(kDoomedBase + i);
        auto removed = node_->remove(name, std::span<const PointId>(&id, 1));
        EXPECT_TRUE(removed.ok()) << removed.status();
        deleted.store(i + 1, std::memory_order_release);
      }
    });
    threads.emplace_back([&] {  // keeps upserting new points until the deletes are done
      std::mt19937 local(6);
      for (uint64_t i = 0; !stop.load(std::memory_order_acquire) || i < 250; ++i) {
        upsert_one(*node_, name, kFillerBase + i, random_vector(local));
        filled.fetch_add(1, std::memory_order_relaxed);
      }
    });
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 local(100 + t);
        while (!stop.load(std::memory_order_acquire)) {
          const uint64_t anchor = local() % kAnchors;
          auto hits = node_->search(name, anchor_vector(anchor), SearchParams{5});
          ASSERT_TRUE(hits.ok()) << hits.status();
          ASSERT_FALSE((*hits)[0].empty());
          EXPECT_EQ((*hits)[0][0].id, PointId::number(anchor));
          EXPECT_EQ((*hits)[0][0].score, 0.0f);
          // A doomed point deleted before this search started is never returned.
          const uint64_t gone = deleted.load(std::memory_order_acquire);
          if (gone == 0) continue;
          const uint64_t victim = local() % gone;
          SearchParams params{10};
          if (t == 2) params.filter_json = R"({"must":[{"key":"tag","match":{"value":"x"}}]})";
          auto near = node_->search(name, doomed[victim], params);
          ASSERT_TRUE(near.ok()) << near.status();
          for (const SearchHit& h : (*near)[0]) {
            const uint64_t id = h.id.as_number();
            EXPECT_FALSE(id >= kDoomedBase && id < kDoomedBase + gone)
                << "point " << id << " returned after its delete";
          }
          searches.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    threads[0].join();
    stop.store(true, std::memory_order_release);
    for (size_t i = 1; i < threads.size(); ++i) threads[i].join();
    EXPECT_GT(searches.load(), 0u);
    auto info = node_->collection_info(name);
    MERIDIAN_ASSERT_OK(info.status());
    std::printf("%s: %llu searches, %llu upserts, %llu segment builds meanwhile\n", name.c_str(),
                static_cast<unsigned long long>(searches.load()),
                static_cast<unsigned long long>(filled.load()),
                static_cast<unsigned long long>(info->segments.builds));
    EXPECT_EQ(*node_->count(name), kAnchors + filled.load());
    // Afterwards: no doomed point left anywhere.
    for (uint64_t i = 0; i < kDoomed; ++i) {
      auto near = node_->search(name, doomed[i], SearchParams{10});
      ASSERT_TRUE(near.ok());
      for (const SearchHit& h : (*near)[0]) {
        EXPECT_FALSE(h.id.as_number() >= kDoomedBase && h.id.as_number() < kDoomedBase + kDoomed);
      }
    }
  }
}

}  // namespace
}  // namespace meridian::node
