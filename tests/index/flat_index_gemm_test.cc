// The blocked BLIS GEMM search path against the SIMD scan path: same labels, same scores.
#include <limits>
#include <random>

#include "index/flat_index.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

constexpr size_t kNoGemm = std::numeric_limits<size_t>::max();

FlatIndexOptions options_with(size_t gemm_min_queries, size_t gemm_threads = 1) {
  FlatIndexOptions options;
  options.gemm_min_queries = gemm_min_queries;
  options.gemm_threads = gemm_threads;
  return options;
}

// Builds two indexes over the same rows, one that always scans and one that always uses GEMM.
struct IndexPair {
  IndexPair(uint32_t dim, Metric metric, size_t gemm_threads = 1)
      : scan(dim, metric, options_with(kNoGemm)),
        gemm(dim, metric, options_with(1, gemm_threads)) {}

  void add(uint64_t label, std::span<const float> v) {
    ASSERT_TRUE(scan.add(label, v).ok());
    ASSERT_TRUE(gemm.add(label, v).ok());
  }

  void expect_same_results(std::span<const float> queries, size_t k) {
    auto a = scan.search(queries, k);
    auto b = gemm.search(queries, k);
    MERIDIAN_ASSERT_OK(a);
    MERIDIAN_ASSERT_OK(b);
    ASSERT_EQ(a->size(), b->size());
    for (size_t qi = 0; qi < a->size(); ++qi) EXPECT_EQ((*a)[qi], (*b)[qi]) << "query " << qi;
  }

  FlatIndex scan;
  FlatIndex gemm;
};

std::vector<float> gaussian(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class FlatIndexGemmTest : public ::testing::TestWithParam<Metric> {};

// 5000 rows and 1100 queries cross the GEMM row (512) and query (1024) block boundaries.
TEST_P(FlatIndexGemmTest, AgreesWithScanAcrossBlocks) {
  constexpr uint32_t kDim = 37;
  std::mt19937 rng(11);
  IndexPair pair(kDim, GetParam());
  const std::vector<float> data = gaussian(rng, 5000 * kDim);
  for (uint64_t i = 0; i < 5000; ++i) pair.add(i * 3 + 1, std::span(data).subspan(i * kDim, kDim));
  for (uint64_t i = 0; i < 500; ++i) pair.scan.remove(i * 7 + 1), pair.gemm.remove(i * 7 + 1);
  const std::vector<float> queries = gaussian(rng, 1100 * kDim);
  pair.expect_same_results(queries, 10);
  pair.expect_same_results(std::span(queries).first(3 * kDim), 100);
}

INSTANTIATE_TEST_SUITE_P(AllMetrics, FlatIndexGemmTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const auto& info) { return std::string(metric_name(info.param)); });

// Small integers as in SIFT: exact ties everywhere, and both paths must break them by label.
TEST(FlatIndexGemmTest, IntegerTiesResolveByLabelOnBothPaths) {
  constexpr uint32_t kDim = 8;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> small(0, 2);
  IndexPair pair(kDim, Metric::kL2);
  std::vector<float> v(kDim);
  for (uint64_t label = 3000; label-- > 0;) {  // Descending insertion order.
    for (float& x : v) x = static_cast<float>(small(rng));
    pair.add(label, v);
  }
  std::vector<float> queries(50 * kDim);
  for (float& x : queries) x = static_cast<float>(small(rng));
  pair.expect_same_results(queries, 25);
}

TEST(FlatIndexGemmTest, ThreadedGemmAgrees) {
  constexpr uint32_t kDim = 64;
  std::mt19937 rng(9);
  IndexPair pair(kDim, Metric::kInnerProduct, /*gemm_threads=*/2);
  const std::vector<float> data = gaussian(rng, 3000 * kDim);
  for (uint64_t i = 0; i < 3000; ++i) pair.add(i, std::span(data).subspan(i * kDim, kDim));
  pair.expect_same_results(gaussian(rng, 40 * kDim), 10);
}

}  // namespace
}  // namespace meridian::index
