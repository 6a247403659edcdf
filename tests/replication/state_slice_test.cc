// Tests of replication/state_slice.h: chunking by id range, resume from a cursor, snapshot
// filtering, and the closing delta's removals.
#include "replication/state_slice.h"

#include <gtest/gtest.h>

#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"
#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

crdt::HlcTimestamp ts(uint64_t ms) { return crdt::HlcTimestamp{ms, 0}; }

crdt::PointReplica replica_with(int points) {
  crdt::PointReplica r(1);
  for (int i = 0; i < points; ++i) {
    r.upsert("id" + std::to_string(100 + i), {float(i), 1, 2, 3}, {{"f", "\"v\""}}, ts(i + 1));
  }
  return r;
}

// Runs a whole transfer of `sender` into `receiver` with chunks of `max_bytes`.
void transfer(const crdt::PointSet& sender, crdt::PointReplica& receiver, size_t max_bytes,
              int* chunks) {
  const crdt::CausalContext snapshot = sender.context();
  std::set<crdt::Dot> received;
  std::string cursor;
  *chunks = 0;
  for (;;) {
    auto slice = slice_state(sender, snapshot, cursor, max_bytes);
    ASSERT_TRUE(slice.ok()) << slice.status();
    ++*chunks;
    receiver.apply(slice->records);
    auto dots = version_dots(slice->records);
    received.insert(dots.begin(), dots.end());
    if (slice->last) break;
    ASSERT_GT(slice->next_cursor, cursor);
    cursor = slice->next_cursor;
  }
  auto closing = closing_delta(receiver.state(), received, snapshot);
  ASSERT_TRUE(closing.ok()) << closing.status();
  receiver.apply(*closing);
}

TEST(StateSliceTest, ChunkedTransferEqualsTheState) {
  crdt::PointReplica sender = replica_with(50);
  crdt::PointReplica receiver(2);
  int chunks = 0;
  transfer(sender.state(), receiver, 200, &chunks);
  EXPECT_GT(chunks, 5);
  EXPECT_EQ(crdt::digest(receiver.state()), crdt::digest(sender.state()));
}

TEST(StateSliceTest, ResumeFromCursorCoversTheRest) {
  crdt::PointReplica sender = replica_with(20);
  const auto snapshot = sender.state().context();
  auto first = slice_state(sender.state(), snapshot, "", 100);
  MERIDIAN_ASSERT_OK(first);
  ASSERT_FALSE(first->last);
  // Resuming at the cursor never repeats the first chunk's ids.
  auto rest = slice_state(sender.state(), snapshot, first->next_cursor, 1 << 20);
  MERIDIAN_ASSERT_OK(rest);
  EXPECT_TRUE(rest->last);
  for (const auto& [id, r] : rest->records.records()) {
    EXPECT_FALSE(first->records.records().contains(id));
  }
  EXPECT_EQ(first->records.size() + rest->records.size(), 20u);
}

TEST(StateSliceTest, VersionsNewerThanTheSnapshotAreLeftOut) {
  crdt::PointReplica sender = replica_with(3);
  const auto snapshot = sender.state().context();
  sender.upsert("id999", {9}, {}, ts(100));
  auto all = slice_state(sender.state(), snapshot, "", 1 << 20);
  MERIDIAN_ASSERT_OK(all);
  EXPECT_EQ(all->records.find("id999"), nullptr);
  EXPECT_EQ(all->records.size(), 3u);
}

TEST(StateSliceTest, ClosingDeltaRemovesWhatTheSenderDeletedAndKeepsConcurrentWrites) {
  crdt::PointReplica sender(1), receiver(2);
  auto d1 = sender.upsert("a", {1}, {}, ts(1));
  auto d2 = sender.upsert("b", {2}, {}, ts(2));
  receiver.apply(d1);
  receiver.apply(d2);
  MERIDIAN_ASSERT_OK(sender.remove("a"));  // receiver has not heard of this
  receiver.upsert("c", {3}, {}, ts(3));    // the sender has not heard of this
  int chunks = 0;
  transfer(sender.state(), receiver, 1, &chunks);
  EXPECT_FALSE(receiver.state().get("a").has_value());  // the delete reached it
  EXPECT_TRUE(receiver.state().get("b").has_value());
  EXPECT_TRUE(receiver.state().get("c").has_value());  // not lost
}

TEST(StateSliceTest, AssembleRejectsVersionsOutsideTheContext) {
  crdt::PointReplica r = replica_with(1);
  RecordMap records(r.state().records().begin(), r.state().records().end());
  MERIDIAN_EXPECT_CODE(assemble_point_set(records, crdt::CausalContext{}),
                       absl::StatusCode::kInvalidArgument);
  auto ok = assemble_point_set(records, r.state().context());
  MERIDIAN_ASSERT_OK(ok);
  EXPECT_EQ(crdt::encode_point_set(*ok), crdt::encode_point_set(r.state()));
}

}  // namespace
}  // namespace meridian::replication
