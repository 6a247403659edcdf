// Tests of a flat collection's GPU copy (gpu_flat_mirror.h) through its growing segment: with the
// GPU policy on, searches answer like the CPU's. Without a GPU (this build machine, CI) the
// fallback is what runs and must be bit for bit the CPU path; on a GPU the device copy is checked
// against the CPU, also after writes that make it stale.
#include "node/gpu_flat_mirror.h"

#include <cmath>
#include <limits>
#include <random>

#include "index/gpu_search.h"
#include "node/growing_segment.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

std::vector<float> random_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * dim);
  for (float& x : out) x = g(rng);
  return out;
}

// A growing segment with the GPU policy on answers like one with it off: identically on the CPU
// fallback, up to float rounding on a GPU; after writes the GPU copy is refreshed.
TEST(GpuFlatMirrorTest, GrowingSegmentWithGpuPolicyMatchesTheCpu) {
  const uint32_t dim = 20;
  const size_t n = 600;
  GpuSearchPolicy policy{.enabled = true, .min_queries = 2, .min_points = 1};
  GrowingSegment gpu(dim, index::Metric::kL2, policy);
  GrowingSegment cpu(dim, index::Metric::kL2);
  auto vectors = random_vectors(n, dim, 1);
  for (size_t i = 0; i < n; ++i) {
    std::span<const float> v(vectors.data() + i * dim, dim);
    ASSERT_TRUE(gpu.add(i * 3 + 1, PointId::number(i), v).ok());
    ASSERT_TRUE(cpu.add(i * 3 + 1, PointId::number(i), v).ok());
  }
  auto queries = random_vectors(8, dim, 2);
  auto check = [&] {
    auto want = cpu.search(queries, 10, nullptr);
    auto got = gpu.search(queries, 10, nullptr);
    ASSERT_TRUE(want.ok());
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(want->size(), got->size());
    for (size_t q = 0; q < want->size(); ++q) {
      ASSERT_EQ((*want)[q].size(), (*got)[q].size());
      for (size_t i = 0; i < (*want)[q].size(); ++i) {
        if (!index::gpu_available()) {
          EXPECT_EQ((*want)[q][i], (*got)[q][i]);  // the CPU path itself
        } else {
          EXPECT_NEAR((*want)[q][i].score, (*got)[q][i].score,
                      1e-3 + 1e-4 * std::fabs((*want)[q][i].score));
        }
      }
    }
  };
  check();
  // Writes after the copy was made: the next search must see them.
  for (uint64_t label : {1u, 4u, 7u}) {
    ASSERT_TRUE(gpu.remove(label));
    ASSERT_TRUE(cpu.remove(label));
  }
  std::vector<float> close(dim, 0.0f);
  ASSERT_TRUE(gpu.add(99999, PointId::number(99999), close).ok());
  ASSERT_TRUE(cpu.add(99999, PointId::number(99999), close).ok());
  check();
  // Bad queries get the CPU path's error either way.
  std::vector<float> bad(dim * 2, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(gpu.search(bad, 10, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GpuFlatMirrorTest, LeavesSmallSearchesToTheCpu) {
  GpuFlatMirror mirror(4, index::Metric::kL2,
                       GpuSearchPolicy{.enabled = true, .min_queries = 4, .min_points = 10});
  bool snapshot_taken = false;
  auto snapshot = [&](std::vector<uint64_t>& labels, std::vector<float>& vectors) {
    snapshot_taken = true;
    labels = {1, 2};
    vectors = {1, 0, 0, 0, 0, 1, 0, 0};
  };
  std::vector<float> three_queries(12, 1.0f);
  std::vector<float> four_queries(16, 1.0f);
  EXPECT_FALSE(mirror.search(three_queries, 1, 100, snapshot).has_value());
  EXPECT_FALSE(mirror.search(four_queries, 1, 9, snapshot).has_value());
  EXPECT_FALSE(mirror.search(four_queries, index::kGpuMaxK + 1, 100, snapshot).has_value());
  EXPECT_FALSE(snapshot_taken);  // nothing uploaded for searches the CPU keeps
  auto big = mirror.search(four_queries, 1, 100, snapshot);
  EXPECT_EQ(big.has_value(), index::gpu_available());
  EXPECT_EQ(mirror.gpu_searches(), index::gpu_available() ? 1u : 0u);
}

}  // namespace
}  // namespace meridian::node
