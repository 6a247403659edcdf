// Tests of the candidate key encoding shared by the GPU kernels and the host decoder
// (index/cuda/gpu_kernels.h): ascending keys are better matches under either metric direction,
// -0 and +0 tie, and a key decodes back to its score and rank. Needs the CUDA headers, not a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "index/cuda/gpu_kernels.h"

namespace meridian::index::cuda {
namespace {

uint64_t key_of(float score, bool higher_is_better, uint32_t rank) {
  return (uint64_t{score_order_bits_host(score, higher_is_better)} << 32) | rank;
}

TEST(GpuKeysTest, AscendingKeysAreBetterScoresAndDecodeBack) {
  const std::vector<float> scores = {-3e38f, -5.5f, -1e-40f, 0.0f, 1e-40f, 0.25f, 2.5f, 3e38f};
  for (bool higher : {false, true}) {
    std::vector<uint64_t> keys;
    for (size_t i = 0; i < scores.size(); ++i) {
      keys.push_back(key_of(scores[i], higher, static_cast<uint32_t>(i)));
    }
    std::vector<uint64_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) {
      // Scores are listed ascending: lower-is-better keeps that order, higher-is-better reverses.
      const size_t want = higher ? scores.size() - 1 - i : i;
      EXPECT_EQ(key_rank(sorted[i]), want);
      EXPECT_EQ(key_score(sorted[i], higher), scores[want]);
    }
    EXPECT_LT(sorted.back(), kEmptyKey);
  }
}

TEST(GpuKeysTest, SignedZerosTieAndRanksBreakTies) {
  for (bool higher : {false, true}) {
    EXPECT_EQ(score_order_bits_host(0.0f, higher), score_order_bits_host(-0.0f, higher));
    EXPECT_LT(key_of(1.5f, higher, 3), key_of(1.5f, higher, 4));
  }
}

}  // namespace
}  // namespace meridian::index::cuda
