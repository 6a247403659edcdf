// Tests of node::SegmentPolicy: seal triggers per index kind, the deleted-fraction threshold of
// compaction, size tiers and the choice of merges.
#include "node/segment_policy.h"

#include <limits>

#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

CollectionConfig config_of(IndexKind kind, uint32_t seal_points, uint32_t nlist = 0) {
  CollectionConfig c;
  c.name = "c";
  c.dim = 4;
  c.index_kind = kind;
  c.segment_seal_points = seal_points;
  c.ivf_nlist = nlist;
  return c;
}

TEST(SegmentPolicyTest, SealTriggers) {
  EXPECT_EQ(SegmentPolicy(config_of(IndexKind::kFlat, 1000)).seal_trigger(),
            std::numeric_limits<size_t>::max());
  EXPECT_EQ(SegmentPolicy(config_of(IndexKind::kHnsw, 1000)).seal_trigger(), 1000u);
  EXPECT_EQ(SegmentPolicy(config_of(IndexKind::kIvfFlat, 1000)).seal_trigger(), 1000u);
  // An explicit nlist needs 39 training points per list before the first seal.
  EXPECT_EQ(SegmentPolicy(config_of(IndexKind::kIvfFlat, 1000, 10)).seal_trigger(), 1000u);
  EXPECT_EQ(SegmentPolicy(config_of(IndexKind::kIvfFlat, 1000, 100)).seal_trigger(), 3900u);
}

TEST(SegmentPolicyTest, CompactionAboveTheDeletedPercentage) {
  CollectionConfig c = config_of(IndexKind::kHnsw, 100);
  c.segment_rebuild_deleted_percent = 20;
  SegmentPolicy policy(c);
  EXPECT_FALSE(policy.needs_compaction({1000, 0, false}));
  EXPECT_FALSE(policy.needs_compaction({1000, 200, false}));
  EXPECT_TRUE(policy.needs_compaction({1000, 201, false}));
  c.segment_rebuild_deleted_percent = 100;
  EXPECT_FALSE(SegmentPolicy(c).needs_compaction({1000, 1000, false}));
}

TEST(SegmentPolicyTest, TiersDoubleFromTheSealSize) {
  SegmentPolicy policy(config_of(IndexKind::kHnsw, 100));
  EXPECT_EQ(policy.tier(0), 0u);
  EXPECT_EQ(policy.tier(199), 0u);
  EXPECT_EQ(policy.tier(200), 1u);
  EXPECT_EQ(policy.tier(399), 1u);
  EXPECT_EQ(policy.tier(400), 2u);
  EXPECT_EQ(policy.tier(1600), 4u);
}

TEST(SegmentPolicyTest, CompactionFirstThenTheLowestTierPair) {
  SegmentPolicy policy(config_of(IndexKind::kHnsw, 100));
  std::vector<SealedSummary> s = {
      {400, 0, false}, {100, 0, false}, {400, 0, false}, {120, 0, false}};
  EXPECT_EQ(policy.next_rebuild(s), (std::vector<size_t>{1, 3}));
  s[1].busy = true;
  EXPECT_EQ(policy.next_rebuild(s), (std::vector<size_t>{0, 2}));
  s[2].masked = 300;  // 75% deleted
  EXPECT_EQ(policy.next_rebuild(s), (std::vector<size_t>{2}));
  std::vector<SealedSummary> distinct = {{100, 0, false}, {200, 0, false}, {400, 0, false}};
  EXPECT_FALSE(policy.next_rebuild(distinct).has_value());
  EXPECT_FALSE(policy.next_rebuild({}).has_value());
}

}  // namespace
}  // namespace meridian::node
