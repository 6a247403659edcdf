// Unit tests for the causal context: membership, compaction, merge, canonical form.
#include "crdt/causal_context.h"

#include <gtest/gtest.h>

namespace meridian::crdt {
namespace {

TEST(CausalContextTest, ContiguousDotsCompactIntoTheVector) {
  CausalContext c;
  EXPECT_TRUE(c.insert(Dot{1, 2}));
  EXPECT_TRUE(c.insert(Dot{1, 3}));
  EXPECT_EQ(c.vv().get(1), 0u);
  EXPECT_EQ(c.cloud().size(), 2u);
  EXPECT_TRUE(c.insert(Dot{1, 1}));
  EXPECT_EQ(c.vv().get(1), 3u);
  EXPECT_TRUE(c.cloud().empty());
  EXPECT_FALSE(c.insert(Dot{1, 2}));
  EXPECT_FALSE(c.insert(Dot{1, 0}));
}

TEST(CausalContextTest, ContainsLooksAtVectorAndCloud) {
  CausalContext c;
  c.insert(Dot{1, 1});
  c.insert(Dot{1, 5});
  EXPECT_TRUE(c.contains(Dot{1, 1}));
  EXPECT_TRUE(c.contains(Dot{1, 5}));
  EXPECT_FALSE(c.contains(Dot{1, 3}));
  EXPECT_FALSE(c.contains(Dot{2, 1}));
}

TEST(CausalContextTest, MergeIsOrderIndependentAndCompacts) {
  CausalContext a, b;
  a.insert(Dot{1, 1});
  a.insert(Dot{1, 3});
  b.insert(Dot{1, 2});
  b.insert(Dot{2, 4});
  CausalContext ab = a, ba = b;
  EXPECT_TRUE(ab.merge(b));
  EXPECT_TRUE(ba.merge(a));
  EXPECT_EQ(ab, ba);
  EXPECT_EQ(ab.vv().get(1), 3u);
  EXPECT_EQ(ab.cloud(), (std::set<Dot>{{2, 4}}));
  EXPECT_FALSE(ab.merge(a));
}

TEST(CausalContextTest, MergeOfVectorSwallowsCloud) {
  CausalContext a, b;
  a.insert(Dot{1, 3});
  a.insert(Dot{1, 6});
  for (uint64_t n = 1; n <= 4; ++n) b.insert(Dot{1, n});
  a.merge(b);
  EXPECT_EQ(a.vv().get(1), 4u);
  EXPECT_EQ(a.cloud(), (std::set<Dot>{{1, 6}}));
}

TEST(CausalContextTest, NextDotIsBeyondEverythingSeen) {
  CausalContext c;
  EXPECT_EQ(c.next_dot(7), (Dot{7, 1}));
  c.insert(Dot{7, 1});
  c.insert(Dot{7, 9});
  EXPECT_EQ(c.next_dot(7), (Dot{7, 10}));
  EXPECT_EQ(c.max_counter(8), 0u);
  c.insert(Dot{UINT64_MAX, 4});
  EXPECT_EQ(c.max_counter(UINT64_MAX), 4u);
}

TEST(CausalContextTest, FromPartsRejectsNonCanonicalCloud) {
  VersionVector vv;
  vv.include(Dot{1, 2});
  EXPECT_FALSE(CausalContext::from_parts(vv, {{1, 3}}).ok());
  EXPECT_FALSE(CausalContext::from_parts(vv, {{1, 2}}).ok());
  EXPECT_TRUE(CausalContext::from_parts(vv, {{1, 4}}).ok());
}

}  // namespace
}  // namespace meridian::crdt
