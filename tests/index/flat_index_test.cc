// FlatIndex against a brute-force double-precision oracle for all three metrics, through adds,
// replacements and removals; plus its input contract (validation, zero vectors, ties).
#include "index/flat_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

constexpr size_t kNoGemm = std::numeric_limits<size_t>::max();

FlatIndexOptions options_with(size_t gemm_min_queries, std::optional<Isa> isa = std::nullopt) {
  FlatIndexOptions options;
  options.gemm_min_queries = gemm_min_queries;
  options.isa = isa;
  return options;
}

double oracle_score(Metric metric, const std::vector<float>& q, const std::vector<float>& x) {
  double l2 = 0, ip = 0, qq = 0, xx = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    const double a = q[i], b = x[i];
    l2 += (a - b) * (a - b);
    ip += a * b;
    qq += a * a;
    xx += b * b;
  }
  switch (metric) {
    case Metric::kL2:
      return l2;
    case Metric::kInnerProduct:
      return ip;
    case Metric::kCosine:
      return qq == 0 || xx == 0 ? 0.0 : ip / std::sqrt(qq * xx);
  }
  return 0;
}

// Checks `got` against the brute-force ranking of `model` for query `q`: same length, scores
// within `tol` position by position, each returned label's true score within `tol` of its
// reported score, no duplicates, and exact labels wherever the oracle has no near tie.
void expect_matches_oracle(Metric metric, const std::map<uint64_t, std::vector<float>>& model,
                           const std::vector<float>& q, size_t k, const std::vector<Neighbor>& got,
                           double tol) {
  std::vector<std::pair<double, uint64_t>> ranked;  // Oriented so that smaller is better.
  for (const auto& [label, x] : model) {
    const double s = oracle_score(metric, q, x);
    ranked.push_back({higher_is_better(metric) ? -s : s, label});
  }
  std::sort(ranked.begin(), ranked.end());
  ASSERT_EQ(got.size(), std::min(k, ranked.size()));
  for (size_t i = 0; i < got.size(); ++i) {
    const double want = higher_is_better(metric) ? -ranked[i].first : ranked[i].first;
    EXPECT_NEAR(got[i].score, want, tol) << "position " << i;
    ASSERT_TRUE(model.contains(got[i].label));
    EXPECT_NEAR(got[i].score, oracle_score(metric, q, model.at(got[i].label)), tol);
    const bool tie_before = i > 0 && ranked[i].first - ranked[i - 1].first < 2 * tol;
    const bool tie_after = i + 1 < ranked.size() && ranked[i + 1].first - ranked[i].first < 2 * tol;
    if (!tie_before && !tie_after) {
      EXPECT_EQ(got[i].label, ranked[i].second) << "position " << i;
    }
    for (size_t j = 0; j < i; ++j) EXPECT_NE(got[i].label, got[j].label);
  }
}

std::vector<float> gaussian(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class FlatIndexOracleTest : public ::testing::TestWithParam<Metric> {};

TEST_P(FlatIndexOracleTest, MatchesBruteForceThroughAddReplaceRemove) {
  const Metric metric = GetParam();
  constexpr uint32_t kDim = 13;  // Not a multiple of any SIMD width.
  std::mt19937 rng(42);
  std::map<uint64_t, std::vector<float>> model;
  for (size_t gemm_min_queries : {kNoGemm, size_t{1}}) {
    FlatIndex index(kDim, metric, options_with(gemm_min_queries));
    model.clear();
    std::uniform_int_distribution<uint64_t> any_label(0, std::numeric_limits<uint64_t>::max());
    std::vector<uint64_t> labels;
    for (int i = 0; i < 400; ++i) {
      const uint64_t label = i % 10 == 0 ? static_cast<uint64_t>(i) : any_label(rng);
      model[label] = gaussian(rng, kDim);
      ASSERT_TRUE(index.add(label, model[label]).ok());
      labels.push_back(label);
    }
    for (int i = 0; i < 60; ++i) {  // Replace.
      const uint64_t label = labels[rng() % labels.size()];
      model[label] = gaussian(rng, kDim);
      ASSERT_TRUE(index.add(label, model[label]).ok());
    }
    for (int i = 0; i < 80; ++i) {  // Remove (some twice).
      const uint64_t label = labels[rng() % labels.size()];
      EXPECT_EQ(index.remove(label), model.erase(label) == 1);
    }
    ASSERT_EQ(index.size(), model.size());
    for (size_t k : {size_t{1}, size_t{10}, size_t{1000}}) {
      const std::vector<float> queries = gaussian(rng, 12 * kDim);
      auto result = index.search(queries, k);
      MERIDIAN_ASSERT_OK(result);
      ASSERT_EQ(result->size(), 12u);
      for (size_t qi = 0; qi < 12; ++qi) {
        const std::vector<float> q(queries.begin() + qi * kDim, queries.begin() + (qi + 1) * kDim);
        expect_matches_oracle(metric, model, q, k, (*result)[qi], 1e-4);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllMetrics, FlatIndexOracleTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const auto& info) { return std::string(metric_name(info.param)); });

TEST(FlatIndexTest, EveryKernelPathGivesTheSameResults) {
  std::mt19937 rng(3);
  const std::vector<float> data = gaussian(rng, 300 * 37);
  const std::vector<float> queries = gaussian(rng, 4 * 37);
  std::optional<std::vector<std::vector<Neighbor>>> first;
  for (Isa isa : available_isas()) {
    FlatIndex index(37, Metric::kL2, options_with(kNoGemm, isa));
    for (uint64_t i = 0; i < 300; ++i) {
      ASSERT_TRUE(index.add(i, std::span(data).subspan(i * 37, 37)).ok());
    }
    auto result = index.search(queries, 5);
    MERIDIAN_ASSERT_OK(result);
    if (!first) first = *result;
    for (size_t qi = 0; qi < 4; ++qi) {
      for (size_t j = 0; j < 5; ++j) {
        EXPECT_EQ((*result)[qi][j].label, (*first)[qi][j].label) << isa_name(isa);
        EXPECT_NEAR((*result)[qi][j].score, (*first)[qi][j].score, 1e-4) << isa_name(isa);
      }
    }
  }
}

TEST(FlatIndexTest, EqualScoresComeInLabelOrder) {
  FlatIndex index(3, Metric::kL2);
  for (uint64_t label : {50u, 7u, 30u, 2u, 99u}) ASSERT_TRUE(index.add(label, {{1, 1, 1}}).ok());
  auto result = index.search(std::vector<float>{0, 0, 0}, 3);
  MERIDIAN_ASSERT_OK(result);
  EXPECT_EQ((*result)[0], (std::vector<Neighbor>{{2, 3.0f}, {7, 3.0f}, {30, 3.0f}}));
}

TEST(FlatIndexTest, CosineZeroVectorsScoreZero) {
  FlatIndex index(2, Metric::kCosine);
  ASSERT_TRUE(index.add(1, {{0, 0}}).ok());
  ASSERT_TRUE(index.add(2, {{3, 4}}).ok());
  ASSERT_TRUE(index.add(3, {{-3, -4}}).ok());
  auto result = index.search(std::vector<float>{6, 8, 0, 0}, 3);
  MERIDIAN_ASSERT_OK(result);
  const std::vector<Neighbor>& toward = (*result)[0];
  ASSERT_EQ(toward.size(), 3u);
  EXPECT_EQ(toward[0].label, 2u);
  EXPECT_NEAR(toward[0].score, 1.0, 1e-6);
  EXPECT_EQ(toward[1], (Neighbor{1, 0.0f}));
  EXPECT_EQ(toward[2].label, 3u);
  EXPECT_NEAR(toward[2].score, -1.0, 1e-6);
  // A zero query is equally (un)similar to everything: score 0, label order, no NaN.
  EXPECT_EQ((*result)[1], (std::vector<Neighbor>{{1, 0.0f}, {2, 0.0f}, {3, 0.0f}}));
  const std::span<const float> stored = index.vector_of(2);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_FLOAT_EQ(stored[0], 0.6f);
  EXPECT_FLOAT_EQ(stored[1], 0.8f);
}

TEST(FlatIndexTest, RejectsBadInput) {
  FlatIndex index(2, Metric::kL2);
  EXPECT_EQ(index.add(1, {{1, 2, 3}}).code(), absl::StatusCode::kInvalidArgument);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(index.add(1, {{nan, 0}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.add(1, {{inf, 0}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.add(1, {{1e19f, 0}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 0u);
  ASSERT_TRUE(index.add(1, {{1e17f, -1e17f}}).ok());
  EXPECT_EQ(index.search(std::vector<float>{1, 2, 3}, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.search(std::vector<float>{1, 2, 0, nan}, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FlatIndexTest, EmptyCasesAndAccessors) {
  FlatIndex index(4, Metric::kInnerProduct);
  EXPECT_EQ(index.dim(), 4u);
  EXPECT_EQ(index.metric(), Metric::kInnerProduct);
  auto empty = index.search(std::vector<float>(8, 1.0f), 5);
  MERIDIAN_ASSERT_OK(empty);
  EXPECT_EQ(*empty, (std::vector<std::vector<Neighbor>>(2)));
  auto none = index.search({}, 5);
  MERIDIAN_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  const size_t before = index.memory_bytes();
  for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(index.add(i, {{1, 2, 3, 4}}).ok());
  EXPECT_GE(index.memory_bytes(), before + 100 * 4 * sizeof(float));
  auto k0 = index.search(std::vector<float>(4, 1.0f), 0);
  MERIDIAN_ASSERT_OK(k0);
  EXPECT_TRUE((*k0)[0].empty());

  EXPECT_TRUE(index.contains(5));
  EXPECT_TRUE(index.remove(5));
  EXPECT_FALSE(index.remove(5));
  EXPECT_FALSE(index.contains(5));
  EXPECT_TRUE(index.vector_of(5).empty());
  EXPECT_EQ(index.size(), 99u);
  // The row that moved into the freed slot keeps its label and vector.
  const std::span<const float> moved = index.vector_of(99);
  EXPECT_EQ(std::vector<float>(moved.begin(), moved.end()), (std::vector<float>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace meridian::index
