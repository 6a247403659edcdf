// k-means: recovery of well-separated clusters, empty-cluster handling with duplicate points,
// determinism from the seed, sub-sampling, spherical centroids and bad input.
#include "index/kmeans.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "index/distance.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

// `per` Gaussian points (sigma 0.1) around each of `k` centres placed 10 apart on the axes.
std::vector<float> separated(size_t k, size_t per, size_t dim, std::vector<float>* centres,
                             uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 0.1f);
  centres->assign(k * dim, 0.0f);
  for (size_t c = 0; c < k; ++c) (*centres)[c * dim + c % dim] = 10.0f * (1 + c / dim);
  std::vector<float> out;
  for (size_t c = 0; c < k; ++c) {
    for (size_t i = 0; i < per; ++i) {
      for (size_t d = 0; d < dim; ++d) out.push_back((*centres)[c * dim + d] + gauss(rng));
    }
  }
  return out;
}

// Squared distance from `p` to its nearest centroid.
float nearest(std::span<const float> centroids, const float* p, size_t dim) {
  float best = INFINITY;
  for (size_t j = 0; j < centroids.size() / dim; ++j) {
    best = std::min(best, l2_sqr({p, dim}, centroids.subspan(j * dim, dim)));
  }
  return best;
}

TEST(KMeansTest, RecoversSeparatedClusters) {
  constexpr size_t kDim = 8, kK = 12;
  std::vector<float> centres;
  const std::vector<float> data = separated(kK, 50, kDim, &centres, 1);
  for (uint64_t seed : {1, 2, 3}) {
    auto got = train_kmeans(data, kDim, {.nlist = kK, .seed = seed}, Metric::kL2);
    MERIDIAN_ASSERT_OK(got);
    ASSERT_EQ(got->size(), kK * kDim);
    // Every true centre has a centroid within 0.1 (the mean of 50 points with sigma 0.1).
    for (size_t c = 0; c < kK; ++c) {
      EXPECT_LT(nearest(*got, centres.data() + c * kDim, kDim), 0.01f) << "seed " << seed;
    }
  }
}

TEST(KMeansTest, MoreClustersThanDistinctPoints) {
  constexpr size_t kDim = 4;
  // 3 distinct points, 10 copies each, 8 clusters.
  std::vector<float> data;
  for (int copy = 0; copy < 10; ++copy) {
    for (int p = 0; p < 3; ++p) {
      for (size_t d = 0; d < kDim; ++d) data.push_back(static_cast<float>(p * 5 + d));
    }
  }
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    auto got = train_kmeans(data, kDim, {.nlist = 8}, metric);
    MERIDIAN_ASSERT_OK(got);
    ASSERT_EQ(got->size(), 8 * kDim);
    for (float v : *got) EXPECT_TRUE(std::isfinite(v));
    if (metric == Metric::kL2) {
      for (int p = 0; p < 3; ++p) EXPECT_LT(nearest(*got, data.data() + p * kDim, kDim), 1e-3f);
    }
  }
}

TEST(KMeansTest, DeterministicFromSeed) {
  constexpr size_t kDim = 16;
  std::mt19937_64 rng(7);
  std::normal_distribution<float> gauss;
  std::vector<float> data(3000 * kDim);
  for (float& v : data) v = gauss(rng);
  const KMeansParams a{.nlist = 20, .sample = 1000, .seed = 5};
  KMeansParams b = a;
  b.seed = 6;
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    auto first = train_kmeans(data, kDim, a, metric);
    auto again = train_kmeans(data, kDim, a, metric);
    auto other = train_kmeans(data, kDim, b, metric);
    MERIDIAN_ASSERT_OK(first);
    MERIDIAN_ASSERT_OK(again);
    MERIDIAN_ASSERT_OK(other);
    EXPECT_EQ(*first, *again);
    EXPECT_NE(*first, *other);
  }
}

TEST(KMeansTest, SphericalCentroidsHaveUnitLength) {
  constexpr size_t kDim = 8;
  std::vector<float> centres;
  const std::vector<float> data = separated(6, 30, kDim, &centres, 2);
  auto got = train_kmeans(data, kDim, {.nlist = 6}, Metric::kCosine);
  MERIDIAN_ASSERT_OK(got);
  for (size_t j = 0; j < 6; ++j) {
    EXPECT_NEAR(norm(std::span<const float>(*got).subspan(j * kDim, kDim)), 1.0, 1e-5);
  }
}

TEST(KMeansTest, AssignNearestMatchesBruteForce) {
  constexpr size_t kDim = 12;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> gauss;
  std::vector<float> x(500 * kDim), c(17 * kDim);
  for (float& v : x) v = gauss(rng);
  for (float& v : c) v = gauss(rng);
  std::vector<uint32_t> got(500);
  assign_nearest(x, kDim, c, Metric::kL2, got);
  for (size_t i = 0; i < 500; ++i) {
    const float* p = x.data() + i * kDim;
    const float mine = l2_sqr({p, kDim}, std::span<const float>(c).subspan(got[i] * kDim, kDim));
    EXPECT_LE(mine, nearest(c, p, kDim) * (1 + 1e-5f) + 1e-5f);
  }
}

TEST(KMeansTest, BadInput) {
  std::vector<float> data(40, 1.0f);
  MERIDIAN_EXPECT_CODE(train_kmeans(data, 4, {.nlist = 11}, Metric::kL2),
                       absl::StatusCode::kInvalidArgument);  // 10 points < 11 clusters.
  MERIDIAN_EXPECT_CODE(train_kmeans(data, 3, {.nlist = 2}, Metric::kL2),
                       absl::StatusCode::kInvalidArgument);  // Not a multiple of dim.
  MERIDIAN_EXPECT_CODE(train_kmeans(data, 4, {.nlist = 0}, Metric::kL2),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(train_kmeans(data, 4, {.nlist = 2, .iterations = 0}, Metric::kL2),
                       absl::StatusCode::kInvalidArgument);
  data[5] = NAN;
  MERIDIAN_EXPECT_CODE(train_kmeans(data, 4, {.nlist = 2}, Metric::kL2),
                       absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::index
