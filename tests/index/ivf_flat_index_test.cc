// IvfFlatIndex against the exact FlatIndex oracle: recall per metric at nprobe = nlist / 4,
// exact equality at nprobe = nlist, sift5k recall under the datasets' tie rule, deletes,
// filters, lazy training and bad input; SQ8 lists against float32 lists (synthetic, sift5k and
// a glove subset).
#include "index/ivf_flat_index.h"

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

class IvfRecallTest : public ::testing::TestWithParam<Metric> {};

TEST_P(IvfRecallTest, RecallAgainstFlat) {
  const Metric metric = GetParam();
  const size_t n = 4000, nq = 100;
  const std::vector<float> base = clustered(n, 1), queries = clustered(nq, 2);
  FlatIndex flat(kDim, metric);
  for (size_t i = 0; i < n; ++i) MERIDIAN_ASSERT_OK(flat.add(i, {base.data() + i * kDim, kDim}));
  IvfFlatIndex ivf(kDim, metric, {.nlist = 64});
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(n), base));
  ASSERT_EQ(ivf.size(), n);
  ASSERT_EQ(ivf.nlist(), 64u);
  auto exact = flat.search(queries, kK);
  MERIDIAN_ASSERT_OK(exact);

  auto approx = ivf.search(queries, kK, 16);
  MERIDIAN_ASSERT_OK(approx);
  size_t hits = 0;
  for (size_t q = 0; q < nq; ++q) {
    for (const Neighbor& a : (*approx)[q]) {
      for (const Neighbor& e : (*exact)[q]) hits += a.label == e.label;
    }
  }
  const double recall = static_cast<double>(hits) / (nq * kK);
  std::cout << metric_name(metric) << " nprobe=16/64 recall@10 = " << recall << "\n";
  EXPECT_GE(recall, 0.95);

  // nprobe = nlist (and above: clamped) scans everything with the same kernels: exact.
  for (size_t nprobe : {64, 1000}) {
    auto all = ivf.search(queries, kK, nprobe);
    MERIDIAN_ASSERT_OK(all);
    EXPECT_EQ(*all, *exact) << nprobe;
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, IvfRecallTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const auto& info) { return std::string(metric_name(info.param)); });

TEST(IvfFlatIndexTest, DeletesAndReplacementsAndFilter) {
  const size_t n = 2000;
  const std::vector<float> base = clustered(n, 3), queries = clustered(20, 4);
  IvfFlatIndex ivf(kDim, Metric::kL2, {.nlist = 32});
  MERIDIAN_ASSERT_OK(ivf.train(base));
  EXPECT_EQ(ivf.size(), 0u);
  for (size_t i = 0; i < n; ++i) MERIDIAN_ASSERT_OK(ivf.add(i, {base.data() + i * kDim, kDim}));
  for (size_t i = 0; i < n; i += 3) EXPECT_TRUE(ivf.remove(i));
  EXPECT_FALSE(ivf.remove(0));
  EXPECT_FALSE(ivf.contains(3));
  // Replace label 1 with a copy of query 0: it must become query 0's exact best.
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
  auto filtered = ivf.search(queries, kK, 32, &even);
  MERIDIAN_ASSERT_OK(filtered);
  for (const auto& row : *filtered) {
    ASSERT_EQ(row.size(), kK);
    for (const Neighbor& nb : row) {
      EXPECT_EQ(nb.label % 2, 0u);
      EXPECT_NE(nb.label % 3, 0u);
    }
  }
  EXPECT_GT(ivf.memory_bytes(), n / 2 * kDim * sizeof(float));
}

TEST(IvfFlatIndexTest, AutoNlistAndLazyTraining) {
  const std::vector<float> base = clustered(900, 5);
  IvfFlatIndex ivf(kDim, Metric::kCosine);
  EXPECT_FALSE(ivf.is_trained());
  MERIDIAN_EXPECT_CODE(ivf.add(1, {base.data(), kDim}), absl::StatusCode::kFailedPrecondition);
  auto empty = ivf.search({base.data(), kDim}, kK);
  MERIDIAN_ASSERT_OK(empty);
  EXPECT_TRUE((*empty)[0].empty());
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(900), base));
  EXPECT_EQ(ivf.nlist(), 120u);  // round(4 * sqrt(900)).
  MERIDIAN_EXPECT_CODE(ivf.train(base), absl::StatusCode::kFailedPrecondition);
}

TEST(IvfFlatIndexTest, BadInput) {
  const std::vector<float> base = clustered(200, 6);
  IvfFlatIndex ivf(kDim, Metric::kL2, {.nlist = 8});
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(200), base));
  std::vector<float> q(base.begin(), base.begin() + kDim);
  using absl::StatusCode;
  MERIDIAN_EXPECT_CODE(ivf.search(q, 0), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.search({q.data(), kDim - 1}, kK), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.add(7, {q.data(), kDim - 1}), StatusCode::kInvalidArgument);
  q[3] = NAN;
  MERIDIAN_EXPECT_CODE(ivf.search(q, kK), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ivf.add(7, q), StatusCode::kInvalidArgument);
  const std::vector<uint64_t> two = {1, 2};
  MERIDIAN_EXPECT_CODE(ivf.add_batch(two, {base.data(), kDim}), StatusCode::kInvalidArgument);
  IvfFlatIndex too_many(kDim, Metric::kL2, {.nlist = 300});
  MERIDIAN_EXPECT_CODE(too_many.train(base), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfFlatIndex::create(0, Metric::kL2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(IvfFlatIndex::create(kDim, Metric::kL2, {.nprobe = 0}),
                       StatusCode::kInvalidArgument);
  EXPECT_EQ(ivf.size(), 200u);  // Failed calls stored nothing.
}

// sift5k (L2, integer data): recall@10 >= 0.95 at nprobe = 24 of the automatic nlist (280),
// counting a returned id as correct when its true distance is <= d_10 * (1 + 1e-6) + 1e-6.
TEST(IvfFlatIndexTest, Sift5kRecall) {
  const auto dir = ::meridian::testing::dataset_dir("sift5k");
  if (!dir) GTEST_SKIP() << "dataset sift5k not present";
  auto base = testing::read_fvecs(*dir / "sift5k_base.fvecs");
  auto queries = testing::read_fvecs(*dir / "sift5k_query.fvecs");
  auto truth_dist = testing::read_fvecs(*dir / "sift5k_groundtruth_dist.fvecs");
  MERIDIAN_ASSERT_OK(base);
  MERIDIAN_ASSERT_OK(queries);
  MERIDIAN_ASSERT_OK(truth_dist);
  const uint32_t dim = static_cast<uint32_t>(base->dim);
  IvfFlatIndex ivf(dim, Metric::kL2);
  MERIDIAN_ASSERT_OK(ivf.add_batch(iota_labels(base->rows), base->values));
  for (size_t nprobe : {8, 16, 24, 32}) {
    auto got = ivf.search(queries->values, kK, nprobe);
    MERIDIAN_ASSERT_OK(got);
    size_t hits = 0;
    for (size_t q = 0; q < queries->rows; ++q) {
      const double d_k = truth_dist->row(q)[kK - 1];  // Euclidean, not squared.
      for (const Neighbor& nb : (*got)[q]) {
        hits += std::sqrt(static_cast<double>(nb.score)) <= d_k * (1 + 1e-6) + 1e-6;
      }
    }
    const double recall = static_cast<double>(hits) / (queries->rows * kK);
    std::cout << "sift5k nlist=" << ivf.nlist() << " nprobe=" << nprobe << " recall@10 = " << recall
              << "\n";
    if (nprobe == 24) {
      EXPECT_GE(recall, 0.95);
    }
  }
}

size_t overlap(const std::vector<std::vector<Neighbor>>& a,
               const std::vector<std::vector<Neighbor>>& b) {
  size_t hits = 0;
  for (size_t q = 0; q < a.size(); ++q) {
    for (const Neighbor& x : a[q]) {
      for (const Neighbor& y : b[q]) hits += x.label == y.label;
    }
  }
  return hits;
}

class IvfSq8Test : public ::testing::TestWithParam<Metric> {};

// SQ8 lists with re-ranking: recall within 0.01 of float32 lists at the same nprobe, exact
// scores, and the codes 4x smaller than the float32 store.
TEST_P(IvfSq8Test, RecallCloseToFloat32) {
  const Metric metric = GetParam();
  const size_t n = 4000, nq = 100;
  const std::vector<float> base = clustered(n, 1), queries = clustered(nq, 2);
  FlatIndex flat(kDim, metric);
  for (size_t i = 0; i < n; ++i) MERIDIAN_ASSERT_OK(flat.add(i, {base.data() + i * kDim, kDim}));
  auto exact = flat.search(queries, kK);
  MERIDIAN_ASSERT_OK(exact);
  IvfFlatIndex plain(kDim, metric, {.nlist = 64});
  IvfFlatIndex sq8(kDim, metric, {.nlist = 64, .quantization = Quantization::kSq8});
  MERIDIAN_ASSERT_OK(plain.add_batch(iota_labels(n), base));
  MERIDIAN_ASSERT_OK(sq8.add_batch(iota_labels(n), base));
  ASSERT_TRUE(sq8.quantizer().is_trained());
  for (size_t nprobe : {4, 16, 64}) {
    auto a = plain.search(queries, kK, nprobe);
    auto b = sq8.search(queries, kK, nprobe);
    MERIDIAN_ASSERT_OK(a);
    MERIDIAN_ASSERT_OK(b);
    const double ra = static_cast<double>(overlap(*a, *exact)) / (nq * kK);
    const double rb = static_cast<double>(overlap(*b, *exact)) / (nq * kK);
    std::cout << metric_name(metric) << " nprobe=" << nprobe << ": recall@10 float32 " << ra
              << ", sq8 " << rb << "\n";
    EXPECT_GE(rb, ra - 0.01);
    // Re-ranked scores are the exact scores of the same labels.
    for (size_t q = 0; q < nq; ++q) {
      for (const Neighbor& nb : (*b)[q]) {
        for (const Neighbor& e : (*a)[q]) {
          if (e.label == nb.label) {
            EXPECT_EQ(e.score, nb.score);
          }
        }
      }
    }
  }
  EXPECT_EQ(plain.rerank_store_bytes(), 0u);
  EXPECT_GE(sq8.rerank_store_bytes(), n * kDim * sizeof(float));
  EXPECT_LT(sq8.memory_bytes() - sq8.rerank_store_bytes(), plain.memory_bytes() / 2);
}

INSTANTIATE_TEST_SUITE_P(Metrics, IvfSq8Test,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const auto& info) { return std::string(metric_name(info.param)); });

TEST(IvfFlatIndexTest, Sq8DeletesAndFilter) {
  const size_t n = 2000;
  const std::vector<float> base = clustered(n, 3), queries = clustered(20, 4);
  IvfFlatIndex ivf(kDim, Metric::kL2, {.nlist = 32, .quantization = Quantization::kSq8});
  MERIDIAN_ASSERT_OK(ivf.train(base));
  for (size_t i = 0; i < n; ++i) MERIDIAN_ASSERT_OK(ivf.add(i, {base.data() + i * kDim, kDim}));
  for (size_t i = 0; i < n; i += 3) EXPECT_TRUE(ivf.remove(i));
  MERIDIAN_ASSERT_OK(ivf.add(1, {queries.data(), kDim}));
  AcceptEven even;
  auto got = ivf.search(queries, kK, 32);
  auto filtered = ivf.search(queries, kK, 32, &even);
  MERIDIAN_ASSERT_OK(got);
  MERIDIAN_ASSERT_OK(filtered);
  EXPECT_EQ((*got)[0].front(), (Neighbor{1, 0.0f}));
  for (const auto& row : *filtered) {
    ASSERT_EQ(row.size(), kK);
    for (const Neighbor& nb : row) {
      EXPECT_EQ(nb.label % 2, 0u);
      EXPECT_NE(nb.label % 3, 0u);
    }
  }
  MERIDIAN_EXPECT_CODE(IvfFlatIndex::create(kDim, Metric::kL2, {.refine_factor = 0}),
                       absl::StatusCode::kInvalidArgument);
}

// A real dataset: SQ8 lists against float32 lists at the same nlist and nprobe, recall under
// the datasets' tie rule.
void check_sq8_dataset(const std::string& name, Metric metric, size_t max_base, size_t max_queries,
                       uint32_t nlist, std::vector<size_t> nprobes) {
  const auto dir = ::meridian::testing::dataset_dir(name);
  if (!dir) GTEST_SKIP() << "dataset " << name << " not present";
  auto base = testing::read_fvecs(*dir / (name + "_base.fvecs"), max_base);
  auto queries = testing::read_fvecs(*dir / (name + "_query.fvecs"), max_queries);
  MERIDIAN_ASSERT_OK(base);
  MERIDIAN_ASSERT_OK(queries);
  const auto dim = static_cast<uint32_t>(base->dim);
  FlatIndex flat(dim, metric);
  for (size_t i = 0; i < base->rows; ++i) MERIDIAN_ASSERT_OK(flat.add(i, {base->row(i), dim}));
  auto exact = flat.search(queries->values, kK);
  MERIDIAN_ASSERT_OK(exact);
  IvfFlatIndex plain(dim, metric, {.nlist = nlist});
  IvfFlatIndex sq8(dim, metric, {.nlist = nlist, .quantization = Quantization::kSq8});
  MERIDIAN_ASSERT_OK(plain.add_batch(iota_labels(base->rows), base->values));
  MERIDIAN_ASSERT_OK(sq8.add_batch(iota_labels(base->rows), base->values));
  const auto recall = [&](const std::vector<std::vector<Neighbor>>& got) {
    size_t hits = 0;
    for (size_t q = 0; q < queries->rows; ++q) {
      const float* query = queries->row(q);
      const double d_k =
          testing::true_distance(metric, query, base->row((*exact)[q].back().label), dim);
      for (const Neighbor& nb : got[q]) {
        hits += testing::true_distance(metric, query, base->row(nb.label), dim) <=
                d_k * (1 + 1e-6) + 1e-6;
      }
    }
    return static_cast<double>(hits) / static_cast<double>(queries->rows * kK);
  };
  for (size_t nprobe : nprobes) {
    auto a = plain.search(queries->values, kK, nprobe);
    auto b = sq8.search(queries->values, kK, nprobe);
    MERIDIAN_ASSERT_OK(a);
    MERIDIAN_ASSERT_OK(b);
    const double ra = recall(*a), rb = recall(*b);
    std::cout << name << " nlist=" << nlist << " nprobe=" << nprobe << ": recall@10 float32 " << ra
              << ", sq8 " << rb << " (lists+codes " << sq8.memory_bytes() - sq8.rerank_store_bytes()
              << " B, re-rank store " << sq8.rerank_store_bytes() << " B; float32 index "
              << plain.memory_bytes() << " B)\n";
    EXPECT_GE(rb, ra - 0.01) << name << " nprobe " << nprobe;
  }
}

TEST(IvfFlatIndexTest, Sq8Sift5kRecall) {
  check_sq8_dataset("sift5k", Metric::kL2, 0, 0, 280, {8, 24, 64});
}

TEST(IvfFlatIndexTest, Sq8Glove100First20kRecall) {
  check_sq8_dataset("glove6b-100-angular", Metric::kCosine, 20000, 200, 128, {8, 32});
}

}  // namespace
}  // namespace meridian::index
