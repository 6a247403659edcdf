// Tests of the synthetic dataset generator: determinism, and ground truth checked against a
// naive full-sort oracle.
#include "cli/gen_dataset.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

// Oracle: every distance, sorted by (distance, id).
std::vector<std::pair<double, int32_t>> oracle(const FloatMatrix& base, std::span<const float> q,
                                               Metric metric) {
  std::vector<std::pair<double, int32_t>> all;
  for (size_t i = 0; i < base.rows(); ++i) {
    auto b = base.row(i);
    double l2 = 0, dot = 0, nq = 0, nb = 0;
    for (size_t j = 0; j < q.size(); ++j) {
      l2 += (double(q[j]) - b[j]) * (double(q[j]) - b[j]);
      dot += double(q[j]) * b[j];
      nq += double(q[j]) * q[j];
      nb += double(b[j]) * b[j];
    }
    double d = metric == Metric::kL2 ? std::sqrt(l2) : 1 - dot / std::sqrt(nq * nb);
    all.emplace_back(d, static_cast<int32_t>(i));
  }
  std::sort(all.begin(), all.end());
  return all;
}

TEST(GenDatasetTest, DeterministicPerSeedAndStream) {
  auto a = generate_clustered_vectors(50, 4, 3, 7, 0);
  auto b = generate_clustered_vectors(50, 4, 3, 7, 0);
  auto other_stream = generate_clustered_vectors(50, 4, 3, 7, 1);
  auto other_seed = generate_clustered_vectors(50, 4, 3, 8, 0);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, other_stream.data);
  EXPECT_NE(a.data, other_seed.data);
  EXPECT_EQ(a.rows(), 50u);
  for (float x : a.data) EXPECT_TRUE(std::isfinite(x));
}

TEST(GenDatasetTest, ExactNeighborsMatchBruteForceOracle) {
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    auto base = generate_clustered_vectors(300, 5, 4, 1, 0);
    auto queries = generate_clustered_vectors(10, 5, 4, 1, 1);
    IntMatrix ids;
    FloatMatrix distances;
    exact_neighbors(base, queries, metric, 20, ids, distances);
    ASSERT_EQ(ids.rows(), 10u);
    ASSERT_EQ(ids.dim, 20u);
    for (size_t q = 0; q < queries.rows(); ++q) {
      auto expected = oracle(base, queries.row(q), metric);
      for (size_t j = 0; j < 20; ++j) {
        EXPECT_EQ(ids.row(q)[j], expected[j].second) << "query " << q << " rank " << j;
        EXPECT_FLOAT_EQ(distances.row(q)[j], static_cast<float>(expected[j].first));
      }
    }
  }
}

TEST(GenDatasetTest, TiesBreakByLowerId) {
  FloatMatrix base{.dim = 1, .data = {5, 1, 3, 1, -1}};
  FloatMatrix queries{.dim = 1, .data = {2}};
  IntMatrix ids;
  FloatMatrix distances;
  exact_neighbors(base, queries, Metric::kL2, 5, ids, distances);
  EXPECT_EQ(ids.data, (std::vector<int32_t>{1, 2, 3, 0, 4}));
  EXPECT_EQ(distances.data, (std::vector<float>{1, 1, 1, 3, 3}));
}

TEST(GenDatasetTest, WritesTexmexLayout) {
  meridian::testing::TempDir dir;
  GenDatasetArgs args{.dir = (dir.path() / "sub").string(),
                      .name = "tiny",
                      .n = 60,
                      .dim = 3,
                      .queries = 4,
                      .metric = Metric::kL2,
                      .seed = 5};
  std::ostringstream out;
  MERIDIAN_ASSERT_OK(run_gen_dataset(args, out));
  const std::string prefix = (dir.path() / "sub" / "tiny").string();
  auto base = read_fvecs(prefix + "_base.fvecs");
  auto queries = read_fvecs(prefix + "_query.fvecs");
  auto gt = read_ivecs(prefix + "_groundtruth.ivecs");
  auto gt_dist = read_fvecs(prefix + "_groundtruth_dist.fvecs");
  MERIDIAN_ASSERT_OK(base);
  MERIDIAN_ASSERT_OK(queries);
  MERIDIAN_ASSERT_OK(gt);
  MERIDIAN_ASSERT_OK(gt_dist);
  EXPECT_EQ(base->rows(), 60u);
  EXPECT_EQ(queries->rows(), 4u);
  EXPECT_EQ(gt->dim, 60u);  // top-100 capped by n
  EXPECT_EQ(gt->rows(), 4u);
  EXPECT_EQ(gt_dist->dim, 60u);
  auto expected = oracle(*base, queries->row(0), Metric::kL2);
  EXPECT_EQ(gt->row(0)[0], expected[0].second);
}

}  // namespace
}  // namespace meridian::cli
