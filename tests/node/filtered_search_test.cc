// Tests of filtered search through node::Node: every result matches the filter on flat and HNSW
// collections, payload writes and reopening keep the filter state in step, and recall@10 against
// the exact filtered ground truth at 50%, 10% and 1% selectivity (sift5k when present).
#include <algorithm>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/vecs_io.h"
#include "crypto/plaintext_record_sealer.h"
#include "node/filtered_scan.h"
#include "node/node.h"
#include "tests/node/node_fixture.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using ::meridian::testing::TempDir;
using storage::PointRecord;

// Points carry {"bucket": id % 100, "parity": "even"|"odd"}.
int64_t bucket_of(uint64_t id) { return static_cast<int64_t>(id % 100); }

// A filter matching buckets [0, n): n% of the points.
std::string buckets_below(int n) {
  std::vector<int> any(n);
  for (int i = 0; i < n; ++i) any[i] = i;
  return absl::StrCat(R"({"must":[{"key":"bucket","match":{"any":[)", absl::StrJoin(any, ","),
                      "]}}]}");
}

class FilteredSearchTest : public NodeFixture {
 protected:
  NodeOptions node_options() const override {
    NodeOptions options;
    options.index_build_threads = 2;
    return options;
  }

  // Creates `name` and upserts `vectors` (row-major, dim each) with ids 0.. and bucket payloads.
  void load(const std::string& name, IndexKind kind, uint32_t dim,
            const std::vector<float>& vectors) {
    CollectionConfig config{.name = name, .dim = dim, .metric = Metric::kL2, .index_kind = kind};
    MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
    const size_t n = vectors.size() / dim;
    for (size_t first = 0; first < n; first += kMaxBatchPoints) {
      std::vector<PointRecord> batch;
      for (size_t i = first; i < std::min(n, first + kMaxBatchPoints); ++i) {
        PointRecord r;
        r.id = PointId::number(i);
        r.vector.assign(vectors.begin() + i * dim, vectors.begin() + (i + 1) * dim);
        r.payload_json = absl::StrCat(R"({"bucket":)", bucket_of(i), R"(,"parity":")",
                                      i % 2 ? "odd" : "even", R"("})");
        batch.push_back(std::move(r));
      }
      MERIDIAN_ASSERT_OK(node_->upsert(name, std::move(batch)).status());
    }
  }

  std::vector<std::vector<SearchHit>> search(const std::string& name,
                                             const std::vector<float>& queries,
                                             const std::string& filter, uint32_t k = 10) {
    SearchParams params;
    params.k = k;
    params.filter_json = filter;
    auto hits = node_->search(name, queries, params);
    EXPECT_TRUE(hits.ok()) << hits.status();
    return hits.ok() ? *hits : std::vector<std::vector<SearchHit>>{};
  }
};

std::vector<float> random_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * dim);
  for (float& x : out) x = g(rng);
  return out;
}

// Exact filtered top-k ids (L2) for each query, in double precision.
std::vector<std::vector<uint64_t>> ground_truth(const std::vector<float>& base,
                                                const std::vector<float>& queries, uint32_t dim,
                                                int buckets, size_t k) {
  std::vector<std::vector<uint64_t>> out;
  for (size_t q = 0; q < queries.size() / dim; ++q) {
    std::vector<std::pair<double, uint64_t>> scored;
    for (size_t i = 0; i < base.size() / dim; ++i) {
      if (bucket_of(i) >= buckets) continue;
      double d = 0;
      for (uint32_t j = 0; j < dim; ++j) {
        double diff = double(base[i * dim + j]) - queries[q * dim + j];
        d += diff * diff;
      }
      scored.emplace_back(d, i);
    }
    std::sort(scored.begin(), scored.end());
    std::vector<uint64_t> ids;
    for (size_t j = 0; j < std::min(k, scored.size()); ++j) ids.push_back(scored[j].second);
    out.push_back(std::move(ids));
  }
  return out;
}

double recall_at_10(const std::vector<std::vector<SearchHit>>& hits,
                    const std::vector<std::vector<uint64_t>>& truth, int buckets) {
  size_t found = 0, wanted = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    std::set<uint64_t> expected(truth[q].begin(), truth[q].end());
    for (const auto& h : hits[q]) {
      EXPECT_LT(bucket_of(h.id.as_number()), buckets) << "a result does not match the filter";
      found += expected.count(h.id.as_number());
    }
    wanted += truth[q].size();
  }
  return wanted == 0 ? 1.0 : static_cast<double>(found) / static_cast<double>(wanted);
}

TEST_F(FilteredSearchTest, EveryResultMatchesOnFlatAndHnsw) {
  const uint32_t dim = 8;
  const auto base = random_vectors(3000, dim, 1);
  const auto queries = random_vectors(20, dim, 2);
  load("flat", IndexKind::kFlat, dim, base);
  load("hnsw", IndexKind::kHnsw, dim, base);
  const std::string odd_and_low =
      R"({"must":[{"key":"parity","match":{"value":"odd"}},{"key":"bucket","range":{"lt":30}}],
          "must_not":[{"key":"bucket","match":{"any":[1,3]}}]})";
  for (const char* name : {"flat", "hnsw"}) {
    auto hits = search(name, queries, odd_and_low);
    ASSERT_EQ(hits.size(), 20u);
    for (const auto& list : hits) {
      EXPECT_EQ(list.size(), 10u);
      for (const auto& h : list) {
        uint64_t id = h.id.as_number();
        EXPECT_TRUE(id % 2 == 1 && bucket_of(id) < 30 && bucket_of(id) != 1 && bucket_of(id) != 3)
            << name << " returned " << id;
      }
    }
    // A filter nothing matches gives empty lists; {} is no restriction.
    for (const auto& list :
         search(name, queries, R"({"must":[{"key":"bucket","range":{"gt":200}}]})")) {
      EXPECT_TRUE(list.empty());
    }
    EXPECT_EQ(search(name, queries, "{}")[0].size(), 10u);
    SearchParams bad;
    bad.filter_json = R"({"must":[{"key":"bucket"}]})";
    EXPECT_EQ(node_->search(name, queries, bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(FilteredSearchTest, PayloadWritesDeletesAndReopenKeepTheFilterInStep) {
  const uint32_t dim = 4;
  const auto base = random_vectors(200, dim, 3);
  load("c", IndexKind::kHnsw, dim, base);
  const std::string tagged = R"({"must":[{"key":"tag","match":{"value":"x"}}]})";
  const std::vector<float> query(base.begin(), base.begin() + dim);
  EXPECT_TRUE(search("c", query, tagged)[0].empty());
  std::vector<PointId> ids = {PointId::number(5), PointId::number(7)};
  MERIDIAN_ASSERT_OK(node_->set_payload("c", ids, R"({"tag":"x"})").status());
  EXPECT_EQ(search("c", query, tagged)[0].size(), 2u);
  std::vector<PointId> five = {PointId::number(5)};
  MERIDIAN_ASSERT_OK(node_->delete_payload_keys("c", five, {"tag"}).status());
  ASSERT_EQ(search("c", query, tagged)[0].size(), 1u);
  EXPECT_EQ(search("c", query, tagged)[0][0].id, PointId::number(7));
  // Overwrite keeps only the new fields.
  std::vector<PointId> seven = {PointId::number(7)};
  MERIDIAN_ASSERT_OK(node_->overwrite_payload("c", seven, R"({"tag":"x"})").status());
  EXPECT_TRUE(search("c", query, R"({"must":[{"key":"parity","match":{"value":"odd"}},
                                     {"key":"tag","match":{"value":"x"}}]})")[0]
                  .empty());
  reopen();
  EXPECT_EQ(search("c", query, tagged)[0].size(), 1u);
  MERIDIAN_ASSERT_OK(node_->remove("c", seven).status());
  EXPECT_TRUE(search("c", query, tagged)[0].empty());
}

TEST(FilteredScanPlannerTest, ExactScanForSelectiveFilters) {
  EXPECT_TRUE(prefer_exact_scan(10, 1000000));
  EXPECT_TRUE(prefer_exact_scan(kExactScanMaxPoints, 1000000));
  EXPECT_TRUE(prefer_exact_scan(19999, 1000000));
  EXPECT_FALSE(prefer_exact_scan(20000, 1000000));
  EXPECT_FALSE(prefer_exact_scan(2500, 5000));
}

TEST_F(FilteredSearchTest, RecallAtFiftyTenAndOnePercentSelectivity) {
  uint32_t dim = 16;
  std::vector<float> base, queries;
  if (auto dir = ::meridian::testing::dataset_dir("sift5k")) {
    auto b = cli::read_fvecs((*dir / "sift5k_base.fvecs").string());
    auto q = cli::read_fvecs((*dir / "sift5k_query.fvecs").string());
    MERIDIAN_ASSERT_OK(b.status());
    MERIDIAN_ASSERT_OK(q.status());
    dim = b->dim;
    base = b->data;
    queries.assign(q->data.begin(), q->data.begin() + std::min<size_t>(q->rows(), 100) * dim);
    std::printf("dataset: sift5k\n");
  } else {
    std::printf("dataset: random (sift5k not found)\n");
    base = random_vectors(5000, dim, 4);
    queries = random_vectors(100, dim, 5);
  }
  load("flat", IndexKind::kFlat, dim, base);
  load("hnsw", IndexKind::kHnsw, dim, base);
  for (const char* name : {"flat", "hnsw"}) {
    for (int buckets : {50, 10, 1}) {
      auto truth = ground_truth(base, queries, dim, buckets, 10);
      double recall = recall_at_10(search(name, queries, buckets_below(buckets)), truth, buckets);
      EXPECT_GE(recall, 0.95) << name << " at " << buckets << "% selectivity";
      std::printf("%s: recall@10 at %d%% selectivity = %.4f\n", name, buckets, recall);
    }
  }
}

// 10% of 30000 points is above the planner's exact-scan thresholds, so this exercises the
// filter applied during the HNSW traversal.
TEST_F(FilteredSearchTest, HnswTraversalRecallAtTenPercent) {
  const uint32_t dim = 8;
  const auto base = random_vectors(30000, dim, 6);
  const auto queries = random_vectors(50, dim, 7);
  ASSERT_FALSE(prefer_exact_scan(3000, 30000));
  load("hnsw", IndexKind::kHnsw, dim, base);
  auto truth = ground_truth(base, queries, dim, 10, 10);
  double recall = recall_at_10(search("hnsw", queries, buckets_below(10)), truth, 10);
  EXPECT_GE(recall, 0.95);
  std::printf("hnsw traversal: recall@10 at 10%% selectivity = %.4f\n", recall);
}

}  // namespace
}  // namespace meridian::node
