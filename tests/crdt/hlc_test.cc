// Unit tests for the hybrid logical clock: monotonicity, receive rule, max offset, restarts.
#include "crdt/hlc.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace meridian::crdt {
namespace {

TEST(HlcTest, NowFollowsPhysicalTimeAndTicksLogicallyWhenItStalls) {
  HlcStats stats;
  HybridLogicalClock clock({}, &stats);
  EXPECT_EQ(clock.now(100), (HlcTimestamp{100, 0}));
  EXPECT_EQ(clock.now(100), (HlcTimestamp{100, 1}));
  EXPECT_EQ(clock.now(90), (HlcTimestamp{100, 2}));  // physical clock went back
  EXPECT_EQ(stats.physical_backward, 1u);
  EXPECT_EQ(clock.now(101), (HlcTimestamp{101, 0}));
}

TEST(HlcTest, UpdateExceedsLocalAndRemote) {
  HlcStats stats;
  HybridLogicalClock clock({.max_offset_ms = 500}, &stats);
  clock.now(100);
  auto t = clock.update(HlcTimestamp{300, 4}, 120);
  MERIDIAN_ASSERT_OK(t);
  EXPECT_EQ(*t, (HlcTimestamp{300, 5}));
  EXPECT_EQ(clock.now(130), (HlcTimestamp{300, 6}));
  t = clock.update(HlcTimestamp{200, 9}, 130);  // remote behind: local ticks
  MERIDIAN_ASSERT_OK(t);
  EXPECT_EQ(*t, (HlcTimestamp{300, 7}));
  t = clock.update(HlcTimestamp{310, 0}, 400);  // physical ahead of both
  MERIDIAN_ASSERT_OK(t);
  EXPECT_EQ(*t, (HlcTimestamp{400, 0}));
  EXPECT_EQ(stats.remote_accepted, 3u);
}

TEST(HlcTest, RefusesRemoteTooFarAheadAndCountsIt) {
  HlcStats stats;
  HybridLogicalClock clock({.max_offset_ms = 500}, &stats);
  clock.now(1000);
  MERIDIAN_EXPECT_CODE(clock.update(HlcTimestamp{1501, 0}, 1000), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(stats.remote_rejected, 1u);
  EXPECT_EQ(clock.last(), (HlcTimestamp{1000, 0}));  // unchanged
  MERIDIAN_EXPECT_OK(clock.update(HlcTimestamp{1500, 0}, 1000));
  MERIDIAN_EXPECT_CODE(clock.update(HlcTimestamp{UINT64_MAX, 0}, 0), absl::StatusCode::kOutOfRange);
}

TEST(HlcTest, RestoreFromReservedBoundNeverGoesBackwards) {
  HlcStats stats;
  HybridLogicalClock clock({.reservation_window_ms = 50}, &stats);
  clock.now(1000);
  ASSERT_TRUE(clock.needs_reservation());
  const uint64_t bound = clock.reserve();
  EXPECT_EQ(bound, 1051u);
  EXPECT_FALSE(clock.needs_reservation());
  HlcTimestamp last;
  for (int i = 0; i < 1000; ++i) last = clock.now(1040);
  EXPECT_FALSE(clock.needs_reservation());
  // Restart with a physical clock that jumped back in time.
  HybridLogicalClock restarted = HybridLogicalClock::restore({}, &stats, bound);
  const HlcTimestamp next = restarted.now(500);
  EXPECT_GT(next, last);
  EXPECT_EQ(next, (HlcTimestamp{bound, 1}));
}

TEST(HlcTest, LogicalSaturationBorrowsAMillisecond) {
  HlcStats stats;
  HybridLogicalClock clock({}, &stats);
  MERIDIAN_ASSERT_OK(clock.update(HlcTimestamp{10, UINT32_MAX - 1}, 10));
  EXPECT_EQ(clock.now(10), (HlcTimestamp{11, 0}));
}

}  // namespace
}  // namespace meridian::crdt
