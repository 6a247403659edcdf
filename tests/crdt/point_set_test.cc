// Unit tests for PointSet itself: join cases, reads, iteration order, and named regressions.
#include "crdt/point_set.h"

#include <gtest/gtest.h>

#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"
#include "tests/support/test_support.h"

namespace meridian::crdt {
namespace {

HlcTimestamp ts(uint64_t ms) { return HlcTimestamp{ms, 0}; }

TEST(PointSetTest, EmptyStateReadsNothing) {
  PointSet s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.get("x").has_value());
  EXPECT_EQ(s.find("x"), nullptr);
}

TEST(PointSetTest, ForEachVisitsExistingPointsInIdOrder) {
  PointReplica a(1);
  a.upsert("b", {2}, {}, ts(1));
  a.upsert("a", {1}, {}, ts(2));
  a.upsert("c", {3}, {}, ts(3));
  MERIDIAN_ASSERT_OK(a.remove("c"));
  std::vector<std::string> ids;
  a.state().for_each([&](const PointId& id, const PointValue&) { ids.push_back(id); });
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a.state().size(), 2u);
}

TEST(PointSetTest, JoinReportsChange) {
  PointReplica a(1);
  const PointSet d = a.upsert("p", {1}, {}, ts(1));
  PointSet s;
  EXPECT_TRUE(s.join(d));
  EXPECT_FALSE(s.join(d));  // idempotent
  EXPECT_FALSE(s.join(PointSet{}));
}

TEST(PointSetTest, JoinIsCommutativeOnConcurrentWrites) {
  PointReplica a(1), b(2);
  const PointSet base = a.upsert("p", {1}, {{"f", "1"}}, ts(1));
  b.apply(base);
  const PointSet da = a.upsert("p", {2}, {}, ts(2));
  const PointSet db = *b.set_payload("p", {{"g", "2"}}, ts(3));
  PointSet x = a.state(), y = b.state();
  x.join(b.state());
  y.join(a.state());
  EXPECT_EQ(encode_point_set(x), encode_point_set(y));
  // a's upsert observed f but not g: g survives, f is gone.
  EXPECT_EQ(x.get("p")->payload, (PayloadFields{{"g", "2"}}));
}

// Regression: dropping a dominated sibling eagerly at join time (the "resolve" step) is a local
// remove that no delta carries; it made replicas diverge. Found while designing; kept as a test.
// a holds siblings d1 < d2 of one id; b holds d1 and a delete that observed d2 only.
TEST(PointSetTest, RegressionDominatedSiblingSurvivesDeleteOfWinner) {
  PointReplica r1(1), r2(2), b(3);
  const PointSet d1 = r1.upsert("p", {1}, {}, ts(1));
  const PointSet d2 = r2.upsert("p", {2}, {}, ts(2));
  b.apply(d2);
  auto del = b.remove("p");  // observed d2 only
  MERIDIAN_ASSERT_OK(del);
  b.apply(d1);
  PointSet a;
  a.join(d1);
  a.join(d2);  // siblings
  EXPECT_EQ(a.get("p")->vector, (std::vector<float>{2}));
  a.join(*del);  // removes d2 only; d1 must still be visible
  ASSERT_TRUE(a.get("p").has_value());
  EXPECT_EQ(a.get("p")->vector, (std::vector<float>{1}));
  EXPECT_EQ(digest(a), digest(b.state()));
}

TEST(PointSetTest, DeltaWithStaleVersionIsIgnoredAfterRemoval) {
  PointReplica a(1);
  const PointSet up = a.upsert("p", {1}, {}, ts(1));
  MERIDIAN_ASSERT_OK(a.remove("p"));
  PointSet s = a.state();
  EXPECT_FALSE(s.join(up));  // the dot is in the context: nothing to do
  EXPECT_FALSE(s.get("p").has_value());
}

}  // namespace
}  // namespace meridian::crdt
