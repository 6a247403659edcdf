// Tests of schema/convert.h: collection settings survive the wire, and settings an old client
// leaves at zero take their defaults.
#include "schema/convert.h"

#include <capnp/message.h>

#include "tests/support/test_support.h"

namespace meridian {
namespace {

TEST(ConvertTest, CollectionConfigRoundTripsEveryIndexKind) {
  for (IndexKind kind :
       {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvfFlat, IndexKind::kIvfPq}) {
    CollectionConfig c{"c", 16, Metric::kCosine, kind};
    if (kind == IndexKind::kIvfFlat || kind == IndexKind::kIvfPq) c.ivf_nlist = 128;
    if (kind == IndexKind::kIvfPq) {
      c.pq_m = 8;
      c.refine_factor = 6;
    }
    if (kind == IndexKind::kHnsw || kind == IndexKind::kIvfFlat) {
      c.quantization = Quantization::kSq8;
      c.refine_factor = 3;
    }
    c.segment_seal_points = 5000;
    c.segment_rebuild_deleted_percent = 35;
    c.shard_count = 7;
    c.replication_factor = 2;
    capnp::MallocMessageBuilder message;
    auto builder = message.initRoot<rpc::CollectionConfig>();
    collection_config_to_rpc(c, builder);
    auto back = collection_config_from_rpc(builder.asReader());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c);
  }
}

TEST(ConvertTest, ZeroSettingsTakeTheirDefaults) {
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<rpc::CollectionConfig>();
  builder.setName("old");
  builder.setDim(4);
  builder.setIndexKind(rpc::IndexKind::IVF_FLAT);
  auto back = collection_config_from_rpc(builder.asReader());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ivf_nlist, 0u);
  EXPECT_EQ(back->segment_seal_points, kDefaultSegmentSealPoints);
  EXPECT_EQ(back->segment_rebuild_deleted_percent, kDefaultSegmentRebuildDeletedPercent);
  EXPECT_EQ(back->pq_m, 0u);
  EXPECT_EQ(back->refine_factor, 0u);
  EXPECT_EQ(back->quantization, Quantization::kNone);
  // A client (or a gossiping node) from before sharding: one shard on every node.
  EXPECT_EQ(back->shard_count, 1u);
  EXPECT_EQ(back->replication_factor, 0u);
}

}  // namespace
}  // namespace meridian
