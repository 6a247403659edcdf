// Tests of replication/backoff.h: the exponential schedule, its cap, and the jitter bounds.
#include "replication/backoff.h"

#include <gtest/gtest.h>

#include <random>

namespace meridian::replication {
namespace {

TEST(BackoffTest, CeilingDoublesUpToTheCap) {
  Backoff b(BackoffPolicy{100, 1000, 2});
  const int64_t expected[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t ceiling : expected) {
    EXPECT_EQ(b.ceiling_ms(), ceiling);
    b.next_delay_ms(0);
  }
}

TEST(BackoffTest, JitterStaysWithinHalfToFullCeiling) {
  Backoff b(BackoffPolicy{100, 30'000, 2});
  std::mt19937_64 rng(42);
  for (int i = 0; i < 40; ++i) {
    const int64_t ceiling = b.ceiling_ms();
    const int64_t d = b.next_delay_ms(rng());
    EXPECT_GE(d, ceiling / 2);
    EXPECT_LE(d, ceiling);
  }
  // Extremes of the random input hit both bounds.
  Backoff low(BackoffPolicy{100, 1000, 2});
  EXPECT_EQ(low.next_delay_ms(0), 50);
  Backoff high(BackoffPolicy{100, 1000, 2});
  EXPECT_EQ(high.next_delay_ms(50), 100);
}

TEST(BackoffTest, ResetStartsOverAndHugeAttemptCountsDoNotOverflow) {
  Backoff b(BackoffPolicy{1, 1LL << 40, 1000});
  for (int i = 0; i < 200; ++i) b.next_delay_ms(7);
  EXPECT_EQ(b.ceiling_ms(), 1LL << 40);
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.ceiling_ms(), 1);
}

}  // namespace
}  // namespace meridian::replication
