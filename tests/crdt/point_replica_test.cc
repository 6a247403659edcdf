// Unit tests for the points CRDT's write operations and their merge semantics between replicas:
// add-wins, no resurrection, fresh re-adds, LWW ties, payload operations, restore.
#include "crdt/point_replica.h"

#include <gtest/gtest.h>

#include "crdt/point_set_codec.h"
#include "tests/support/test_support.h"

namespace meridian::crdt {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

HlcTimestamp ts(uint64_t ms, uint32_t logical = 0) { return HlcTimestamp{ms, logical}; }

// Delivers every version of `from` to `to` (full-state anti-entropy).
void sync(PointReplica& to, const PointReplica& from) { to.apply(from.state()); }

TEST(PointReplicaTest, UpsertThenReadBack) {
  PointReplica a(1);
  a.upsert("p", {1, 2}, {{"color", "\"red\""}, {"n", "3"}}, ts(10));
  const auto v = a.state().get("p");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->vector, (std::vector<float>{1, 2}));
  EXPECT_THAT(v->payload, ElementsAre(Pair("color", "\"red\""), Pair("n", "3")));
  EXPECT_EQ(v->dot, (Dot{1, 1}));
  EXPECT_EQ(a.state().size(), 1u);
  EXPECT_EQ(a.causal_token().get(1), 3u);  // one dot for the vector, one per field
}

TEST(PointReplicaTest, UpsertReplacesVectorAndPayload) {
  PointReplica a(1);
  a.upsert("p", {1}, {{"x", "1"}, {"y", "2"}}, ts(10));
  a.upsert("p", {2}, {{"x", "5"}}, ts(11));
  const auto v = a.state().get("p");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->vector, (std::vector<float>{2}));
  EXPECT_THAT(v->payload, ElementsAre(Pair("x", "5")));
  EXPECT_EQ(a.state().version_count(), 2u);  // no siblings, no tombstones
}

TEST(PointReplicaTest, ConcurrentUpsertBeatsDelete) {
  PointReplica a(1), b(2);
  a.upsert("p", {1}, {}, ts(10));
  sync(b, a);
  auto del = b.remove("p");  // observed a's first upsert
  MERIDIAN_ASSERT_OK(del);
  const PointSet up = a.upsert("p", {2}, {}, ts(5));  // concurrent, even with an older hlc
  a.apply(*del);
  b.apply(up);
  ASSERT_TRUE(a.state().get("p").has_value());
  EXPECT_EQ(a.state().get("p")->vector, (std::vector<float>{2}));
  EXPECT_EQ(digest(a.state()), digest(b.state()));
}

TEST(PointReplicaTest, DeleteThatObservedAnUpsertNeverResurrectsIt) {
  PointReplica a(1), b(2), c(3);
  const PointSet up = a.upsert("p", {1}, {{"f", "1"}}, ts(10));
  b.apply(up);
  auto del = b.remove("p");
  MERIDIAN_ASSERT_OK(del);
  // c gets the delete first, then the upsert it removed, then the upsert again.
  c.apply(*del);
  c.apply(up);
  c.apply(up);
  EXPECT_FALSE(c.state().get("p").has_value());
  EXPECT_TRUE(c.state().records().empty());
  // a gets the delete after its own upsert; full states of everyone agree.
  a.apply(*del);
  sync(a, c);
  sync(b, a);
  EXPECT_FALSE(a.state().get("p").has_value());
  EXPECT_EQ(digest(a.state()), digest(c.state()));
  EXPECT_EQ(digest(b.state()), digest(c.state()));
}

TEST(PointReplicaTest, ReAddAfterRemoveIsFresh) {
  PointReplica a(1), b(2);
  const PointSet up1 = a.upsert("p", {1}, {{"old", "1"}}, ts(10));
  auto del = a.remove("p");
  MERIDIAN_ASSERT_OK(del);
  const PointSet up2 = a.upsert("p", {2}, {{"new", "2"}}, ts(11));
  // b sees them in reverse order; the old field must not come back.
  b.apply(up2);
  b.apply(*del);
  b.apply(up1);
  const auto v = b.state().get("p");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->vector, (std::vector<float>{2}));
  EXPECT_THAT(v->payload, ElementsAre(Pair("new", "2")));
  EXPECT_EQ(digest(a.state()), digest(b.state()));
}

TEST(PointReplicaTest, LwwTieOnHlcIsBrokenByReplicaIdEverywhere) {
  PointReplica a(1), b(2);
  const PointSet ua = a.upsert("p", {1}, {{"f", "\"a\""}}, ts(10, 3));
  const PointSet ub = b.upsert("p", {2}, {{"f", "\"b\""}}, ts(10, 3));
  a.apply(ub);
  b.apply(ua);
  for (const PointReplica* r : {&a, &b}) {
    const auto v = r->state().get("p");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->vector, (std::vector<float>{2}));
    EXPECT_EQ(v->payload.at("f"), "\"b\"");
    EXPECT_EQ(r->state().find("p")->vector_versions.size(), 2u);  // both siblings kept
  }
  // The next write observes both siblings and collapses them.
  a.upsert("p", {3}, {}, ts(11));
  EXPECT_EQ(a.state().find("p")->vector_versions.size(), 1u);
}

TEST(PointReplicaTest, PayloadOperations) {
  PointReplica a(1), b(2);
  a.upsert("p", {1}, {{"x", "1"}, {"y", "2"}, {"z", "3"}}, ts(10));
  sync(b, a);
  MERIDIAN_ASSERT_OK(a.set_payload("p", {{"x", "10"}, {"w", "0"}}, ts(11)));
  MERIDIAN_ASSERT_OK(b.delete_payload_keys("p", {"y", "absent"}));
  sync(a, b);
  sync(b, a);
  EXPECT_THAT(a.state().get("p")->payload,
              ElementsAre(Pair("w", "0"), Pair("x", "10"), Pair("z", "3")));
  MERIDIAN_ASSERT_OK(b.overwrite_payload("p", {{"only", "true"}}, ts(12)));
  sync(a, b);
  EXPECT_THAT(a.state().get("p")->payload, ElementsAre(Pair("only", "true")));
  EXPECT_EQ(a.state().get("p")->vector, (std::vector<float>{1}));
  EXPECT_EQ(digest(a.state()), digest(b.state()));
}

TEST(PointReplicaTest, ConcurrentFieldWriteAndOverwriteBothKeepTheirFields) {
  PointReplica a(1), b(2);
  a.upsert("p", {1}, {{"x", "1"}}, ts(10));
  sync(b, a);
  MERIDIAN_ASSERT_OK(a.set_payload("p", {{"y", "2"}}, ts(11)));
  MERIDIAN_ASSERT_OK(b.overwrite_payload("p", {{"z", "3"}}, ts(11)));
  sync(a, b);
  sync(b, a);
  // b's overwrite removed x (observed) but not the concurrent y: fields are add-wins too.
  EXPECT_THAT(a.state().get("p")->payload, ElementsAre(Pair("y", "2"), Pair("z", "3")));
  EXPECT_EQ(digest(a.state()), digest(b.state()));
}

TEST(PointReplicaTest, PayloadWriteConcurrentWithDeleteLeavesAHiddenOrphan) {
  PointReplica a(1), b(2);
  a.upsert("p", {1}, {}, ts(10));
  sync(b, a);
  MERIDIAN_ASSERT_OK(a.set_payload("p", {{"f", "1"}}, ts(11)));
  MERIDIAN_ASSERT_OK(b.remove("p"));
  sync(a, b);
  sync(b, a);
  EXPECT_FALSE(a.state().get("p").has_value());
  EXPECT_EQ(a.state().size(), 0u);
  ASSERT_NE(a.state().find("p"), nullptr);  // the orphan field is still held
  // A delete of the id that observes the orphan clears it everywhere.
  auto del = b.remove("p");
  MERIDIAN_ASSERT_OK(del);
  a.apply(*del);
  EXPECT_EQ(a.state().find("p"), nullptr);
  EXPECT_EQ(digest(a.state()), digest(b.state()));
}

TEST(PointReplicaTest, OperationsOnMissingPointsAreNotFound) {
  PointReplica a(1);
  MERIDIAN_EXPECT_CODE(a.remove("p"), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(a.set_payload("p", {{"f", "1"}}, ts(1)), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(a.overwrite_payload("p", {}, ts(1)), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(a.delete_payload_keys("p", {"f"}), absl::StatusCode::kNotFound);
}

TEST(PointReplicaTest, RestoreFromOlderCopyNeedsAFreshIdAndConverges) {
  PointReplica a(1), b(2);
  a.upsert("p", {1}, {}, ts(10));
  const PointSet backup = a.state();
  const PointSet lost = a.upsert("q", {2}, {}, ts(11));  // after the backup
  b.apply(lost);
  // Reusing id 1 would mint (1, 2) again, a dot b has already seen: refused.
  MERIDIAN_EXPECT_CODE(PointReplica::restore_as(1, backup), absl::StatusCode::kFailedPrecondition);
  auto restored = PointReplica::restore_as(3, backup);
  MERIDIAN_ASSERT_OK(restored);
  const PointSet fresh = restored->upsert("r", {3}, {}, ts(12));
  EXPECT_EQ(fresh.context().vv().get(3), 1u);
  b.apply(fresh);
  restored->apply(b.state());
  b.apply(restored->state());
  EXPECT_TRUE(restored->state().get("q").has_value());
  EXPECT_TRUE(b.state().get("r").has_value());
  EXPECT_EQ(digest(restored->state()), digest(b.state()));
}

}  // namespace
}  // namespace meridian::crdt
