// Tests of replication/memory_shard_store.h: durable apply and the restart image.
#include "replication/memory_shard_store.h"

#include <gtest/gtest.h>

#include "crdt/point_set_codec.h"
#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

TEST(MemoryShardStoreTest, ApplyLogsOnlyChangesAndRecordsJoinedThrough) {
  MemoryShardStore a(1), b(2);
  auto delta = a.replica().upsert("x", {1, 2}, {}, crdt::HlcTimestamp{10, 0});
  a.commit_local(delta);
  MERIDIAN_ASSERT_OK(b.apply(1, delta, 1));
  EXPECT_EQ(b.log().last_seq(), 1u);  // changed the state: logged for forwarding
  MERIDIAN_ASSERT_OK(b.apply(1, delta, std::nullopt));
  EXPECT_EQ(b.log().last_seq(), 1u);  // no change: not logged again
  EXPECT_EQ(b.joined_through(1), 1u);
  MERIDIAN_ASSERT_OK(b.apply(1, delta, 0));
  EXPECT_EQ(b.joined_through(1), 1u);  // never moves back
  EXPECT_EQ(b.joined_through(3), 0u);
}

TEST(MemoryShardStoreTest, RecoverKeepsStateSeqAndJoinedButNotLogEntries) {
  MemoryShardStore a(1);
  a.commit_local(a.replica().upsert("x", {1}, {}, crdt::HlcTimestamp{10, 0}));
  a.commit_local(a.replica().upsert("y", {2}, {}, crdt::HlcTimestamp{11, 0}));
  MERIDIAN_ASSERT_OK(a.apply(7, crdt::PointSet{}, 5));
  auto back = MemoryShardStore::recover(1, a.durable());
  MERIDIAN_ASSERT_OK(back);
  EXPECT_EQ(crdt::digest(back->state()), crdt::digest(a.state()));
  EXPECT_EQ(back->log().last_seq(), 2u);
  EXPECT_EQ(back->log().size(), 0u);
  EXPECT_EQ(back->joined_through(7), 5u);
  DurableShard bad = a.durable();
  bad.state[6] ^= 1;
  MERIDIAN_EXPECT_CODE(MemoryShardStore::recover(1, bad), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::replication
