// Unit tests for dots and version vectors.
#include "crdt/version_vector.h"

#include <gtest/gtest.h>

namespace meridian::crdt {
namespace {

VersionVector vv(std::initializer_list<std::pair<ReplicaId, uint64_t>> entries) {
  VersionVector out;
  for (const auto& [r, n] : entries) out.include(Dot{r, n});
  return out;
}

TEST(VersionVectorTest, IncludeKeepsMaximumAndSkipsZero) {
  VersionVector v;
  v.include(Dot{1, 3});
  v.include(Dot{1, 2});
  v.include(Dot{2, 0});
  EXPECT_EQ(v.get(1), 3u);
  EXPECT_EQ(v.get(2), 0u);
  EXPECT_EQ(v.entries().size(), 1u);
  EXPECT_TRUE(v.includes(Dot{1, 3}));
  EXPECT_FALSE(v.includes(Dot{1, 4}));
}

TEST(VersionVectorTest, MergeIsPointwiseMax) {
  VersionVector a = vv({{1, 3}, {2, 1}});
  a.merge(vv({{2, 5}, {3, 1}}));
  EXPECT_EQ(a, vv({{1, 3}, {2, 5}, {3, 1}}));
}

TEST(VersionVectorTest, DominatesAndConcurrent) {
  const VersionVector a = vv({{1, 3}, {2, 1}});
  const VersionVector b = vv({{1, 2}});
  const VersionVector c = vv({{2, 2}});
  EXPECT_TRUE(a.dominates(b));
  EXPECT_FALSE(b.dominates(a));
  EXPECT_TRUE(a.dominates(a));
  EXPECT_TRUE(a.concurrent(c));
  EXPECT_FALSE(a.concurrent(b));
  EXPECT_TRUE(a.dominates(VersionVector{}));
}

TEST(VersionVectorTest, DifferenceListsWhatThePeerLacks) {
  const VersionVector mine = vv({{1, 5}, {2, 2}, {3, 7}});
  const VersionVector peer = vv({{1, 2}, {2, 4}});
  const std::vector<DotRange> expected = {{1, 3, 5}, {3, 1, 7}};
  EXPECT_EQ(mine.difference(peer), expected);
  EXPECT_TRUE(peer.difference(peer).empty());
}

TEST(VersionVectorTest, PointwiseMin) {
  EXPECT_EQ(pointwise_min(vv({{1, 5}, {2, 2}}), vv({{1, 3}, {3, 1}})), vv({{1, 3}}));
}

}  // namespace
}  // namespace meridian::crdt
