// Tests of node::CollectionIndex, the segmented index of a collection: exact results against a
// brute-force oracle across growing, frozen and sealed segments; a point searchable as soon as
// add() returns; a deleted point never returned, also while a build is held before publishing
// (a hook latch, no sleeps) and under concurrent searches, deletes and builds; searches during a
// build served by the old segments; compaction, merges, IVF filters and nprobe.
#include "node/collection_index.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using namespace std::chrono_literals;

constexpr auto kBuildDeadline = 60s;

std::vector<float> random_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * dim);
  for (float& x : out) x = g(rng);
  return out;
}

std::span<const float> row(const std::vector<float>& v, size_t i, uint32_t dim) {
  return std::span<const float>(v).subspan(i * dim, dim);
}

CollectionConfig config_of(IndexKind kind, uint32_t dim, uint32_t seal_points) {
  CollectionConfig c;
  c.name = "c";
  c.dim = dim;
  c.metric = Metric::kL2;
  c.index_kind = kind;
  c.segment_seal_points = seal_points;
  return c;
}

// Brute force over the live points: labels of the k nearest (squared L2, ties by label).
std::vector<uint64_t> oracle(const std::map<uint64_t, std::vector<float>>& live,
                             std::span<const float> q, size_t k) {
  std::vector<std::pair<double, uint64_t>> scored;
  for (const auto& [label, v] : live) {
    double d = 0;
    for (size_t i = 0; i < q.size(); ++i) d += (double(v[i]) - q[i]) * (double(v[i]) - q[i]);
    scored.emplace_back(d, label);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<uint64_t> out;
  for (size_t i = 0; i < std::min(k, scored.size()); ++i) out.push_back(scored[i].second);
  return out;
}

std::vector<uint64_t> labels_of(const std::vector<index::Neighbor>& list) {
  std::vector<uint64_t> out;
  for (const auto& n : list) out.push_back(n.label);
  return out;
}

// A gate the builder's before_publish hook waits at: the test sees the build arrive, does its
// checks, then opens the gate.
class PublishGate {
 public:
  std::function<void()> hook() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu_);
      ++arrived_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    };
  }
  // Waits until `n` builds have reached the gate.
  bool wait_arrived(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kBuildDeadline, [&] { return arrived_ >= n; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int arrived_ = 0;
  bool open_ = false;
};

TEST(CollectionIndexTest, FlatCollectionNeverSeals) {
  const uint32_t dim = 4;
  CollectionIndex index(config_of(IndexKind::kFlat, dim, 100));
  const auto v = random_vectors(500, dim, 1);
  for (uint64_t i = 0; i < 500; ++i)
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  const SegmentStats s = index.stats();
  EXPECT_EQ(s.growing_points, 500u);
  EXPECT_EQ(s.sealed_segments, 0u);
  EXPECT_FALSE(index.approximate());
}

TEST(CollectionIndexTest, AddedPointIsSearchableWhenAddReturns) {
  const uint32_t dim = 8;
  CollectionIndex index(config_of(IndexKind::kHnsw, dim, 100));
  const auto v = random_vectors(450, dim, 2);
  for (uint64_t i = 0; i < 450; ++i) {
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
    // Its own vector finds it first, whichever segment it is in and whatever builds run.
    auto hits = index.search(row(v, i, dim), 1, 0, 0);
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_EQ((*hits)[0].size(), 1u);
    EXPECT_EQ((*hits)[0][0].label, i);
  }
  EXPECT_EQ(index.size(), 450u);
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  const SegmentStats s = index.stats();
  EXPECT_EQ(s.growing_points, 50u);
  EXPECT_EQ(s.pending_segments, 0u);
  EXPECT_EQ(s.sealed_points, 400u);
  EXPECT_GE(s.builds, 4u);
  // 100-point seals merge pairwise by size tier: 400 sealed points end in one segment.
  EXPECT_EQ(s.sealed_segments, 1u);
}

TEST(CollectionIndexTest, DeletesDuringAHeldBuildAreNeverReturnedAndSearchesUseOldSegments) {
  const uint32_t dim = 6;
  PublishGate gate;
  SegmentOptions options;
  options.before_publish = gate.hook();
  options.build_threads = 1;  // a reproducible graph: every live point reachable below
  CollectionIndex index(config_of(IndexKind::kHnsw, dim, 100), options);
  const auto v = random_vectors(200, dim, 3);
  std::map<uint64_t, std::vector<float>> live;
  for (uint64_t i = 0; i < 100; ++i) {
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
    live[i].assign(row(v, i, dim).begin(), row(v, i, dim).end());
  }
  // The 100th point froze the growing segment; its build is now held at the gate.
  ASSERT_TRUE(gate.wait_arrived(1));
  SegmentStats s = index.stats();
  EXPECT_EQ(s.pending_segments, 1u);
  EXPECT_EQ(s.sealed_segments, 0u);
  EXPECT_TRUE(s.build_pending);

  // Deletes, re-upserts and new points while the new segment waits to be published.
  for (uint64_t i = 0; i < 100; i += 3) {
    EXPECT_TRUE(index.remove(i));
    live.erase(i);
  }
  const auto moved = random_vectors(1, dim, 4);
  MERIDIAN_ASSERT_OK(index.add(1, PointId::number(1), moved));  // label 1 gets a new vector
  live[1] = moved;
  for (uint64_t i = 100; i < 150; ++i) {
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
    live[i].assign(row(v, i, dim).begin(), row(v, i, dim).end());
  }
  const auto queries = random_vectors(30, dim, 5);
  auto check_exact = [&](const char* when) {
    // With one frozen (exact) segment and the growing one, search is exact: equal to the oracle.
    auto hits = index.search(queries, 10, 0, 0);
    ASSERT_TRUE(hits.ok()) << hits.status();
    for (size_t q = 0; q < 30; ++q) {
      EXPECT_EQ(labels_of((*hits)[q]), oracle(live, row(queries, q, dim), 10)) << when << " q" << q;
    }
  };
  check_exact("during the build");
  EXPECT_EQ(index.size(), live.size());

  gate.open();
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  s = index.stats();
  EXPECT_EQ(s.sealed_segments, 1u);
  EXPECT_EQ(s.pending_segments, 0u);
  EXPECT_EQ(index.size(), live.size());
  // After the swap: the deletes made during the build still hold, on every query and for k
  // covering every point.
  auto all = index.search(queries, 200, 200, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const auto& list : *all) {
    std::set<uint64_t> got;
    for (const auto& n : list) {
      EXPECT_TRUE(live.contains(n.label)) << "deleted label " << n.label << " returned";
      EXPECT_TRUE(got.insert(n.label).second) << "label " << n.label << " returned twice";
    }
    EXPECT_EQ(got.size(), live.size());
  }
  // Label 1 is found at its new vector, with its new score (exactly 0 distance).
  auto one = index.search(moved, 1, 0, 0);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ((*one)[0].size(), 1u);
  EXPECT_EQ((*one)[0][0].label, 1u);
  EXPECT_EQ((*one)[0][0].score, 0.0f);
  EXPECT_EQ(index.vector_of(1), live[1]);
  EXPECT_TRUE(index.vector_of(0).empty());
}

TEST(CollectionIndexTest, CompactionRebuildsASegmentOverItsDeletedThreshold) {
  const uint32_t dim = 4;
  CollectionConfig config = config_of(IndexKind::kHnsw, dim, 200);
  config.segment_rebuild_deleted_percent = 20;
  CollectionIndex index(config);
  const auto v = random_vectors(200, dim, 6);
  for (uint64_t i = 0; i < 200; ++i)
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  const uint64_t builds = index.stats().builds;
  EXPECT_EQ(builds, 1u);
  // 40 of 200 deleted = 20%: not above the threshold.
  for (uint64_t i = 0; i < 40; ++i) EXPECT_TRUE(index.remove(i));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  EXPECT_EQ(index.stats().builds, builds);
  // The 41st delete crosses it: one compaction.
  EXPECT_TRUE(index.remove(40));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  EXPECT_EQ(index.stats().builds, builds + 1);
  EXPECT_EQ(index.stats().sealed_points, 159u);
  EXPECT_FALSE(index.remove(40));
  // Deleting everything drops the segment without a build.
  for (uint64_t i = 41; i < 200; ++i) EXPECT_TRUE(index.remove(i));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.stats().sealed_segments, 0u);
  auto hits = index.search(row(v, 0, dim), 5, 0, 0);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE((*hits)[0].empty());
}

TEST(CollectionIndexTest, ConcurrentSearchesDeletesAndBuildsNeverReturnADeletedPoint) {
  const uint32_t dim = 8;
  CollectionIndex index(config_of(IndexKind::kHnsw, dim, 100));
  const size_t n = 1000;
  const auto v = random_vectors(n, dim, 7);
  // Labels whose remove() has returned, published to the searchers after it returned.
  std::mutex deleted_mu;
  std::set<uint64_t> deleted;
  std::atomic<bool> done{false};
  std::atomic<size_t> violations{0};
  std::atomic<size_t> searches{0};
  auto searcher = [&](uint32_t seed) {
    const auto queries = random_vectors(50, dim, seed);
    size_t q = 0;
    while (!done.load()) {
      std::set<uint64_t> before;
      {
        std::lock_guard<std::mutex> lock(deleted_mu);
        before = deleted;
      }
      auto hits = index.search(row(queries, q++ % 50, dim), 20, 0, 0);
      if (!hits.ok()) {
        violations.fetch_add(1);
        continue;
      }
      for (const auto& h : (*hits)[0]) {
        if (before.contains(h.label)) violations.fetch_add(1);
      }
      searches.fetch_add(1);
    }
  };
  std::thread a(searcher, 100), b(searcher, 101);
  std::mt19937 rng(8);
  for (uint64_t i = 0; i < n; ++i) {
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
    if (i % 3 == 2) {
      const uint64_t victim = std::uniform_int_distribution<uint64_t>(0, i)(rng);
      if (index.remove(victim)) {
        std::lock_guard<std::mutex> lock(deleted_mu);
        deleted.insert(victim);
      }
    }
  }
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_GT(searches.load(), 0u);
  EXPECT_EQ(index.size(), n - deleted.size());
  EXPECT_GE(index.stats().builds, 3u);
  auto all = index.search(v, 1, 0, 0);
  ASSERT_TRUE(all.ok());
  for (const auto& list : *all) {
    for (const auto& h : list) EXPECT_FALSE(deleted.contains(h.label));
  }
}

// Accepts labels below a bound.
class Below final : public index::LabelFilter {
 public:
  explicit Below(uint64_t bound) : bound_(bound) {}
  bool accepts(uint64_t label) const override { return label < bound_; }

 private:
  uint64_t bound_;
};

TEST(CollectionIndexTest, IvfSegmentsHonourFiltersAndNprobe) {
  const uint32_t dim = 8;
  CollectionConfig config = config_of(IndexKind::kIvfFlat, dim, 1000);
  config.ivf_nlist = 16;
  CollectionIndex index(config);
  const size_t n = 3000;
  const auto v = random_vectors(n, dim, 9);
  std::map<uint64_t, std::vector<float>> live, matching;
  for (uint64_t i = 0; i < n; ++i) {
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
    live[i].assign(row(v, i, dim).begin(), row(v, i, dim).end());
    if (i < n / 2) matching[i] = live[i];
  }
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  EXPECT_EQ(index.stats().growing_points, 0u);
  EXPECT_GE(index.stats().sealed_segments, 1u);
  const auto queries = random_vectors(40, dim, 10);
  auto recall = [&](uint32_t nprobe, const index::LabelFilter* filter,
                    const std::map<uint64_t, std::vector<float>>& truth_set) {
    auto hits = index.search(queries, 10, 0, nprobe, filter);
    EXPECT_TRUE(hits.ok()) << hits.status();
    size_t found = 0;
    for (size_t q = 0; q < 40; ++q) {
      auto truth = oracle(truth_set, row(queries, q, dim), 10);
      for (const auto& h : (*hits)[q]) {
        if (filter != nullptr) {
          EXPECT_TRUE(filter->accepts(h.label));
        }
        found += std::count(truth.begin(), truth.end(), h.label);
      }
    }
    return static_cast<double>(found) / (40.0 * 10);
  };
  // nprobe >= nlist scans every list: exact.
  EXPECT_EQ(recall(kMaxIvfNprobe, nullptr, live), 1.0);
  Below half(n / 2);
  EXPECT_EQ(recall(kMaxIvfNprobe, &half, matching), 1.0);
  const double one = recall(1, nullptr, live);
  const double deflt = recall(0, nullptr, live);
  EXPECT_LT(one, deflt);
  EXPECT_GE(deflt, 0.8);
  EXPECT_GE(recall(0, &half, matching), 0.8);
}

TEST(CollectionIndexTest, IvfWithExplicitNlistServesExactlyUntilItCanTrain) {
  const uint32_t dim = 4;
  CollectionConfig config = config_of(IndexKind::kIvfFlat, dim, 100);
  config.ivf_nlist = 10;  // needs 39 * 10 = 390 points before the first seal
  CollectionIndex index(config);
  const auto v = random_vectors(400, dim, 11);
  for (uint64_t i = 0; i < 389; ++i)
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  EXPECT_EQ(index.stats().sealed_segments, 0u);
  EXPECT_EQ(index.stats().growing_points, 389u);
  MERIDIAN_ASSERT_OK(index.add(389, PointId::number(389), row(v, 389, dim)));
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  EXPECT_EQ(index.stats().sealed_segments, 1u);
  EXPECT_EQ(index.stats().sealed_points, 390u);
}

TEST(CollectionIndexTest, LoadBuildsOneSegmentFromManyPointsAndKeepsFewInTheGrowingSegment) {
  const uint32_t dim = 4;
  const auto v = random_vectors(300, dim, 12);
  std::vector<uint64_t> labels(300);
  std::vector<PointId> ids;
  for (uint64_t i = 0; i < 300; ++i) {
    labels[i] = i;
    ids.push_back(PointId::number(i * 7));
  }
  CollectionIndex big(config_of(IndexKind::kHnsw, dim, 200));
  MERIDIAN_ASSERT_OK(big.load(labels, ids, v, 2));
  EXPECT_EQ(big.stats().built_at_start, 1u);
  EXPECT_EQ(big.stats().sealed_points, 300u);
  EXPECT_EQ(big.size(), 300u);
  CollectionIndex small(config_of(IndexKind::kHnsw, dim, 400));
  MERIDIAN_ASSERT_OK(small.load(labels, ids, v, 2));
  EXPECT_EQ(small.stats().built_at_start, 0u);
  EXPECT_EQ(small.stats().growing_points, 300u);
  // A rejected vector changes nothing.
  std::vector<float> bad(dim, std::numeric_limits<float>::quiet_NaN());
  MERIDIAN_EXPECT_CODE(small.add(3, PointId::number(21), bad), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(small.size(), 300u);
  EXPECT_EQ(small.vector_of(3), std::vector<float>(row(v, 3, dim).begin(), row(v, 3, dim).end()));
}

TEST(CollectionIndexTest, ExactSearchScoresTheGivenLabelsWhereverTheyLive) {
  const uint32_t dim = 5;
  CollectionIndex index(config_of(IndexKind::kHnsw, dim, 100));
  const auto v = random_vectors(250, dim, 13);
  std::map<uint64_t, std::vector<float>> chosen;
  std::vector<uint64_t> labels;
  for (uint64_t i = 0; i < 250; ++i) {
    MERIDIAN_ASSERT_OK(index.add(i, PointId::number(i), row(v, i, dim)));
    if (i % 7 == 0) {
      labels.push_back(i);
      chosen[i].assign(row(v, i, dim).begin(), row(v, i, dim).end());
    }
  }
  ASSERT_TRUE(index.wait_for_builds(kBuildDeadline));
  const auto queries = random_vectors(10, dim, 14);
  auto hits = index.exact_search(queries, 5, labels);
  for (size_t q = 0; q < 10; ++q) {
    EXPECT_EQ(labels_of(hits[q]), oracle(chosen, row(queries, q, dim), 5));
  }
}

}  // namespace
}  // namespace meridian::node
