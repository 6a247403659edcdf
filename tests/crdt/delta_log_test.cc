// Unit tests for the delta log: intervals per peer, acknowledgements, compaction and the
// full-state signal.
#include "crdt/delta_log.h"

#include <gtest/gtest.h>

#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"
#include "tests/support/test_support.h"

namespace meridian::crdt {
namespace {

using Kind = OutgoingDeltas::Kind;

TEST(DeltaLogTest, IntervalJoinsEverythingUnacked) {
  PointReplica a(1);
  DeltaLog log;
  log.add_peer(2);
  EXPECT_EQ(log.append(a.upsert("x", {1}, {}, {1, 0})), 1u);
  EXPECT_EQ(log.append(a.upsert("y", {2}, {}, {2, 0})), 2u);
  auto out = log.deltas_since(2);
  MERIDIAN_ASSERT_OK(out);
  EXPECT_EQ(out->kind, Kind::kDeltas);
  EXPECT_EQ(out->through_seq, 2u);
  EXPECT_EQ(digest(out->delta), digest(a.state()));
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 1));
  out = log.deltas_since(2);
  EXPECT_EQ(out->delta.size(), 1u);
  EXPECT_TRUE(out->delta.get("y").has_value());
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 2));
  EXPECT_EQ(log.deltas_since(2)->kind, Kind::kUpToDate);
}

TEST(DeltaLogTest, DeltasBetweenJoinsExactlyTheRange) {
  PointReplica a(1);
  DeltaLog log;
  log.add_peer(2);
  log.append(a.upsert("x", {1}, {}, {1, 0}));
  log.append(a.upsert("y", {2}, {}, {2, 0}));
  log.append(a.upsert("z", {3}, {}, {3, 0}));
  auto middle = log.deltas_between(1, 2);
  MERIDIAN_ASSERT_OK(middle);
  EXPECT_EQ(middle->size(), 1u);
  EXPECT_TRUE(middle->get("y").has_value());
  auto all = log.deltas_between(0, 3);
  MERIDIAN_ASSERT_OK(all);
  EXPECT_EQ(digest(*all), digest(a.state()));
  MERIDIAN_EXPECT_CODE(log.deltas_between(2, 2).status(), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_EXPECT_CODE(log.deltas_between(2, 4).status(), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 2));
  log.compact();
  // Compacted deltas are gone: an interval starting before the horizon cannot be built.
  MERIDIAN_EXPECT_CODE(log.deltas_between(1, 3).status(), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_ASSERT_OK(log.deltas_between(2, 3));
}

TEST(DeltaLogTest, IntervalEndBoundsThePointsOfAnInterval) {
  PointReplica a(1);
  DeltaLog log;
  for (int i = 0; i < 10; ++i) log.append(a.upsert("p" + std::to_string(i), {1}, {}, {1, 0}));
  EXPECT_EQ(log.interval_end(0, 3), 3u);
  EXPECT_EQ(log.interval_end(3, 3), 6u);
  EXPECT_EQ(log.interval_end(8, 3), 10u);  // never past the last seq
  EXPECT_EQ(log.interval_end(4, 0), 5u);   // at least one delta
  EXPECT_EQ(log.interval_end(0, 100), 10u);
}

TEST(DeltaLogTest, AcksAreMonotonicAndChecked) {
  DeltaLog log;
  log.add_peer(2);
  log.append(PointSet{});
  log.append(PointSet{});
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 2));
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 1));  // stale, ignored
  EXPECT_EQ(*log.acked(2), 2u);
  MERIDIAN_EXPECT_CODE(log.acknowledge(2, 3), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(log.acknowledge(9, 1), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(log.deltas_since(9), absl::StatusCode::kNotFound);
}

TEST(DeltaLogTest, CompactsOnlyWhatEveryPeerAcked) {
  DeltaLog log;
  log.add_peer(2);
  log.add_peer(3);
  for (int i = 0; i < 5; ++i) log.append(PointSet{});
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 5));
  MERIDIAN_ASSERT_OK(log.acknowledge(3, 2));
  EXPECT_EQ(log.stable_seq(), 2u);
  EXPECT_EQ(log.compact(), 2u);
  EXPECT_EQ(log.horizon(), 2u);
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.deltas_since(3)->kind, Kind::kDeltas);
  // A peer added now has acknowledged nothing and the first deltas are gone: full state.
  log.add_peer(4);
  EXPECT_EQ(log.deltas_since(4)->kind, Kind::kFullState);
  EXPECT_EQ(log.compact(), 0u);  // peer 4 blocks further compaction
  log.remove_peer(4);
  MERIDIAN_ASSERT_OK(log.acknowledge(3, 5));
  EXPECT_EQ(log.compact(), 3u);
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(log.deltas_since(2)->kind, Kind::kUpToDate);
}

TEST(DeltaLogTest, RestartedLogSendsFullStateToEveryone) {
  DeltaLog log(/*next_seq=*/8);
  log.add_peer(2, 3);
  EXPECT_EQ(log.last_seq(), 7u);
  EXPECT_EQ(log.deltas_since(2)->kind, Kind::kFullState);
  EXPECT_EQ(log.deltas_since(2)->through_seq, 7u);
  MERIDIAN_ASSERT_OK(log.acknowledge(2, 7));
  EXPECT_EQ(log.deltas_since(2)->kind, Kind::kUpToDate);
  EXPECT_EQ(log.append(PointSet{}), 8u);
  EXPECT_EQ(log.deltas_since(2)->kind, Kind::kDeltas);
}

// Regression (simulation seed 19): a log for a state restored from a backup must not offer
// deltas from seq 1, as the restored writes are in no delta.
TEST(DeltaLogTest, RegressionLogOfRestoredStateStartsWithFullState) {
  DeltaLog log(/*next_seq=*/2);
  log.add_peer(7);
  EXPECT_EQ(log.deltas_since(7)->kind, Kind::kFullState);
}

}  // namespace
}  // namespace meridian::crdt
