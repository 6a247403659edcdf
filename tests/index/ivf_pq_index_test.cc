// IvfPqIndex against the exact FlatIndex oracle: recall with and without refinement per metric,
// exact results when refinement covers everything, deletes, filters, lazy training, bad input,
// and recall on sift5k and a glove subset (skipped without the datasets).
#include "index/ivf_pq_index.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <random>

#include "index/flat_index.h"
#include "tests/index/fvecs_reader.h"
#include "tests/index/true_distance.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

constexpr size_t kK = 10;
constexpr size_t kDim = 32;

// Gaussian points around 40 random centres (clustered like real embeddings).
std::vector<float> clustered(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::mt19937_64 centre_rng(99);  // Same centres for base and queries.
  std::vector<float> centres(40 * kDim);
  for (float& c : centres) c = 3.0f * gauss(centre_rng);
  std::vector<float> out(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + (rng() % 40) * kDim;
    for (size_t d = 0; d < kDim; ++d) out[i * kDim + d] = c[d] + gauss(rng);
  }
  return out;
}

std::vector<uint64_t> iota_labels(size_t n) {
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = i;
  return labels;
}

class AcceptEven : public LabelFilter {
 public:
  bool accepts(uint64_t label) const override { return label % 2 == 0; }
};

// The datasets' distance (Euclidean, 1 - cos), and the negated dot product for kInnerProduct.
double oracle_distance(Metric metric, const float* q, const float* x, size_t dim) {
  if (metric != Metric::kInnerProduct) return testing::true_distance(metric, q, x, dim);
  double ip = 0;
  for (size_t i = 0; i < dim; ++i) ip += static_cast<double>(q[i]) * x[i];
  return -ip;
}

// Recall@k of `got` against `exact` under the tie rule: a returned label counts when its true
// distance is <= d_k + 1e-6 * (|d_k| + 1) (d_k: true distance of the exact k-th).
double recall(const std::vector<std::vector<Neighbor>>& got,
              const std::vector<std::vector<Neighbor>>& exact, const std::vector<float>& base,
              const std::vector<float>& queries, size_t dim, Metric metric) {
  size_t hits = 0, total = 0;
  for (size_t q = 0; q < got.size(); ++q) {
    const float* query = queries.data() + q * dim;
    const double d_k =
        oracle_distance(metric, query, base.data() + exact[q].back().label * dim, dim);
    for (const Neighbor& n : got[q]) {
      hits += oracle_distance(metric, query, base.data() + n.label * dim, dim) <=
              d_k + 1e-6 * (std::fabs(d_k) + 1);
    }
    total += exact[q].size();
  }
  return static_cast<double>(hits) / static_cast<double>(total);
}

std::vector<std::vector<Neighbor>> exact_search(const std::vector<float>& base,
                                                const std::vector<float>& queries, size_t dim,
                                                Metric metric) {
  FlatIndex flat(static_cast<uint32_t>(dim), metric);
  for (size_t i = 0; i < base.size() / dim; ++i) {
    EXPECT_TRUE(flat.add(i, {base.data() + i * dim, dim}).ok());
  }
  return *flat.search(queries, kK);
}

class IvfPqRecallTest : public ::testing::TestWithParam<Metric> {};

TEST_P(IvfPqRecallTest, RecallAgainstFlat) {
  const Metric metric = GetParam();
  const size_t n = 4000, nq = 100;
  const std::vector<float> base = clustered(n, 1), queries = clustered(nq, 2);
  const auto exact = exact_search(base, queries, kDim, metric);
  // 8 bytes per vector against 128 raw.
  IvfPqIndex ivf(kDim, metric, {.nlist = 64, .m = 8, .refine_factor = 10});
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(n), base));
  ASSERT_EQ(ivf.size(), n);
  EXPECT_EQ(ivf.code_bytes(), 8u);
  EXPECT_GE(ivf.rerank_store_bytes(), n * kDim * sizeof(float));
  EXPECT_GT(ivf.memory_bytes(), ivf.rerank_store_bytes() + n * (8 + 8));

  auto unrefined = ivf.search(queries, kK, 16, nullptr, 0);
  auto refined = ivf.search(queries, kK, 16);
  MERIDIAN_ASSERT_OK(unrefined);
  MERIDIAN_ASSERT_OK(refined);
  const double r0 = recall(*unrefined, exact, base, queries, kDim, metric);
  const double r1 = recall(*refined, exact, base, queries, kDim, metric);
  std::cout << metric_name(metric) << " nprobe=16/64 m=8 recall@10 unrefined " << r0
            << ", refine x10 " << r1 << "\n";
  EXPECT_GE(r0, 0.4);
  EXPECT_GE(r1, 0.95);

  // Every list probed and every vector re-scored: the exact scores and labels of FlatIndex.
  auto all = ivf.search(queries, kK, 64, nullptr, 1000);
  MERIDIAN_ASSERT_OK(all);
  EXPECT_EQ(*all, exact);
}

INSTANTIATE_TEST_SUITE_P(Metrics, IvfPqRecallTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const auto& info) { return std::string(metric_name(info.param)); });

TEST(IvfPqIndexTest, DeletesReplacementsAndFilter) {
  const size_t n = 2000;
  const std::vector<float> base = clustered(n, 3), queries = clustered(20, 4);
  IvfPqIndex ivf(kDim, Metric::kL2, {.nlist = 32, .m = 16, .refine_factor = 4});
  MERIDIAN_ASSERT_OK(ivf.train(base));
  EXPECT_EQ(ivf.size(), 0u);
  for (size_t i = 0; i < n; ++i) MERIDIAN_ASSERT_OK(ivf.add(i, {base.data() + i * kDim, kDim}));
  for (size_t i = 0; i < n; i += 3) EXPECT_TRUE(ivf.remove(i));
  EXPECT_FALSE(ivf.remove(0));
  EXPECT_FALSE(ivf.contains(3));
  // Replace label 1 with a copy of query 0: with refinement it is query 0's exact best.
  MERIDIAN_ASSERT_OK(ivf.add(1, {queries.data(), kDim}));
  size_t listed = 0;
  for (uint32_t l = 0; l < ivf.nlist(); ++l) listed += ivf.list_size(l);
  EXPECT_EQ(listed, ivf.size());
  auto got = ivf.search(queries, kK, 32);
  MERIDIAN_ASSERT_OK(got);
  EXPECT_EQ((*got)[0].front().label, 1u);
  EXPECT_EQ((*got)[0].front().score, 0.0f);
  for (const auto& row : *got) {
    ASSERT_EQ(row.size(), kK);
    for (const Neighbor& nb : row) EXPECT_NE(nb.label % 3, 0u) << nb.label;
  }
  AcceptEven even;
  for (uint32_t refine : {0u, 4u}) {
    auto filtered = ivf.search(queries, kK, 32, &even, refine);
    MERIDIAN_ASSERT_OK(filtered);
    for (const auto& row : *filtered) {
      ASSERT_EQ(row.size(), kK);
      for (const Neighbor& nb : row) {
        EXPECT_EQ(nb.label % 2, 0u);
        EXPECT_NE(nb.label % 3, 0u);
      }
    }
  }
}

TEST(IvfPqIndexTest, AutomaticParamsAndLazyTraining) {
  const std::vector<float> base = clustered(900, 5);
  IvfPqIndex ivf(kDim, Metric::kCosine);
  EXPECT_EQ(ivf.code_bytes(), kDim / 4);
  EXPECT_FALSE(ivf.is_trained());
  MERIDIAN_EXPECT_CODE(ivf.add(1, {base.data(), kDim}), absl::StatusCode::kFailedPrecondition);
  auto empty = ivf.search({base.data(), kDim}, kK);
  MERIDIAN_ASSERT_OK(empty);
  EXPECT_TRUE((*empty)[0].empty());
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(900), base));
  EXPECT_EQ(ivf.nlist(), 120u);  // round(4 * sqrt(900)).
  EXPECT_EQ(ivf.rerank_store_bytes(), 0u);
  MERIDIAN_EXPECT_CODE(ivf.train(base), absl::StatusCode::kFailedPrecondition);
  // Same data and params: the same index, byte for byte.
  IvfPqIndex again(kDim, Metric::kCosine);
  MERIDIAN_ASSERT_OK(again.add_batch(iota_labels(900), base));
  std::string a, b;
  MERIDIAN_ASSERT_OK(ivf.save(&a));
  MERIDIAN_ASSERT_OK(again.save(&b));
  EXPECT_EQ(a, b);
}

TEST(IvfPqIndexTest, BadInput) {
  using absl::StatusCode;
  const std::vector<float> base = clustered(300, 6);
  IvfPqIndex ivf(kDim, Metric::kL2, {.nlist = 8, .m = 4});
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(300), base));
  std::vector<float> q(base.begin(), base.begin() + kDim);
  MERIDIAN_EXPECT_CODE(ivf.search(q, 0), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.search({q.data(), kDim - 1}, kK), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.search(q, kK, 0, nullptr, 2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.add(7, {q.data(), kDim - 1}), StatusCode::kInvalidArgument);
  q[3] = NAN;
  MERIDIAN_EXPECT_CODE(ivf.search(q, kK), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.add(7, q), StatusCode::kInvalidArgument);
  const std::vector<uint64_t> two = {1, 2};
  MERIDIAN_EXPECT_CODE(ivf.add_batch(two, {base.data(), kDim}), StatusCode::kInvalidArgument);
  IvfPqIndex too_many(kDim, Metric::kL2, {.nlist = 400});
  MERIDIAN_EXPECT_CODE(too_many.train(base), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfPqIndex::create(0, Metric::kL2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfPqIndex::create(70000, Metric::kL2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfPqIndex::create(kDim, Metric::kL2, {.m = kDim + 1}),
                       StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfPqIndex::create(kDim, Metric::kL2, {.nprobe = 0}),
                       StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfPqIndex::create(kDim, Metric::kL2, {.refine_factor = 1025}),
                       StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfPqIndex::create(kDim, Metric::kL2, {.kmeans_iterations = 0}),
                       StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_OK(IvfPqIndex::create(kDim, Metric::kL2, {.m = kDim}));
  EXPECT_EQ(ivf.size(), 300u);  // Failed calls stored nothing.
}

// Loads the first `max_base` base vectors and `max_queries` queries of a shared dataset.
struct Loaded {
  std::vector<float> base, queries;
  size_t dim = 0;
};
std::optional<Loaded> load(const std::string& name, size_t max_base, size_t max_queries) {
  const auto dir = ::meridian::testing::dataset_dir(name);
  if (!dir) return std::nullopt;
  auto base = testing::read_fvecs(*dir / (name + "_base.fvecs"), max_base);
  auto queries = testing::read_fvecs(*dir / (name + "_query.fvecs"), max_queries);
  if (!base.ok() || !queries.ok()) return std::nullopt;
  return Loaded{std::move(base->values), std::move(queries->values), base->dim};
}

// Recall@10 on a real dataset with codes at 1/8 of the raw size or less: unrefined, and refined
// (which must reach 0.90 at the given nprobe).
void check_dataset(const std::string& name, Metric metric, size_t max_base, size_t max_queries,
                   uint32_t m, size_t nprobe) {
  const auto data = load(name, max_base, max_queries);
  if (!data) GTEST_SKIP() << "dataset " << name << " not present";
  const size_t dim = data->dim;
  ASSERT_LE(m * 8, dim * sizeof(float));
  const auto exact = exact_search(data->base, data->queries, dim, metric);
  const auto t0 = std::chrono::steady_clock::now();
  IvfPqIndex ivf(static_cast<uint32_t>(dim), metric, {.m = m, .refine_factor = 10});
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(data->base.size() / dim), data->base));
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (uint32_t refine : {0u, 10u}) {
    auto got = ivf.search(data->queries, kK, nprobe, nullptr, refine);
    MERIDIAN_ASSERT_OK(got);
    const double r = recall(*got, exact, data->base, data->queries, dim, metric);
    std::cout << name << " (" << data->base.size() / dim << " x " << dim << ", build " << build_s
              << " s) nlist=" << ivf.nlist() << " nprobe=" << nprobe << " m=" << m << " (" << m
              << " of " << dim * 4 << " bytes) refine=" << refine << ": recall@10 = " << r << "\n";
    EXPECT_GE(r, refine == 0 ? 0.3 : 0.90) << name << " refine " << refine;
  }
}

TEST(IvfPqIndexTest, Sift5kRecall) { check_dataset("sift5k", Metric::kL2, 0, 0, 16, 32); }

TEST(IvfPqIndexTest, Glove100First10kRecall) {
  check_dataset("glove6b-100-angular", Metric::kCosine, 10000, 200, 25, 32);
}

}  // namespace
}  // namespace meridian::index
