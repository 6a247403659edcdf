// Tests of the shared value types: point id parsing/formatting and ordering, config checks.
#include "schema/types.h"

#include "tests/support/test_support.h"

namespace meridian {
namespace {

TEST(PointIdTest, ParsesNumbersAndUuids) {
  auto n = PointId::parse("18446744073709551615");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->is_number());
  EXPECT_EQ(n->as_number(), 18446744073709551615ull);

  auto u = PointId::parse("123e4567-E89B-12d3-a456-426614174000");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->is_number());
  EXPECT_EQ(u->to_string(), "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(u->as_uuid()[0], 0x12);
  EXPECT_EQ(u->as_uuid()[15], 0x00);
}

TEST(PointIdTest, RejectsMalformedIds) {
  for (const char* bad :
       {"", "-1", "+5", "18446744073709551616", "12ab", "1.5",
        "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456-4266141740000"}) {
    MERIDIAN_EXPECT_CODE(PointId::parse(bad), absl::StatusCode::kInvalidArgument);
  }
}

TEST(PointIdTest, NumbersOrderBeforeUuidsAndDiffer) {
  PointId five = PointId::number(5);
  PointId uuid = PointId::uuid(Uuid{});
  EXPECT_LT(five, uuid);
  EXPECT_NE(PointId::number(0), uuid);
  EXPECT_LT(PointId::number(2), PointId::number(10));
}

TEST(CollectionConfigTest, ValidatesNameAndDimension) {
  MERIDIAN_EXPECT_OK(
      validate_collection_config({"docs_2024-a", 128, Metric::kL2, IndexKind::kFlat}));
  MERIDIAN_EXPECT_CODE(validate_collection_config({"", 8, Metric::kL2, IndexKind::kFlat}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(validate_collection_config({"a/b", 8, Metric::kL2, IndexKind::kFlat}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(validate_collection_config({"a", 0, Metric::kL2, IndexKind::kFlat}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(
      validate_collection_config({"a", kMaxDim + 1, Metric::kL2, IndexKind::kFlat}),
      absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(validate_collection_config({std::string(kMaxCollectionNameLength + 1, 'x'),
                                                   8, Metric::kL2, IndexKind::kFlat}),
                       absl::StatusCode::kInvalidArgument);
}

TEST(CollectionConfigTest, ValidatesIvfAndSegmentParameters) {
  CollectionConfig ivf{"v", 8, Metric::kL2, IndexKind::kIvfFlat};
  MERIDIAN_EXPECT_OK(validate_collection_config(ivf));  // nlist 0: chosen per segment
  ivf.ivf_nlist = kMaxIvfNlist;
  MERIDIAN_EXPECT_OK(validate_collection_config(ivf));
  ivf.ivf_nlist = kMaxIvfNlist + 1;
  MERIDIAN_EXPECT_CODE(validate_collection_config(ivf), absl::StatusCode::kInvalidArgument);
  CollectionConfig hnsw{"h", 8, Metric::kL2, IndexKind::kHnsw};
  hnsw.ivf_nlist = 16;
  MERIDIAN_EXPECT_CODE(validate_collection_config(hnsw), absl::StatusCode::kInvalidArgument);
  for (uint32_t seal : {kMinSegmentSealPoints - 1, kMaxSegmentSealPoints + 1}) {
    CollectionConfig c{"c", 8, Metric::kL2, IndexKind::kHnsw};
    c.segment_seal_points = seal;
    MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
  }
  for (uint32_t percent : {0u, 101u}) {
    CollectionConfig c{"c", 8, Metric::kL2, IndexKind::kHnsw};
    c.segment_rebuild_deleted_percent = percent;
    MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
  }
}

TEST(CollectionConfigTest, ValidatesShardingParameters) {
  CollectionConfig c{"s", 8, Metric::kL2};
  EXPECT_EQ(c.shard_count, 1u);
  EXPECT_EQ(c.replication_factor, 0u);
  MERIDIAN_EXPECT_OK(validate_collection_config(c));
  c.shard_count = kMaxShardCount;
  c.replication_factor = kMaxReplicationFactor;
  MERIDIAN_EXPECT_OK(validate_collection_config(c));
  c.shard_count = 0;
  MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
  c.shard_count = kMaxShardCount + 1;
  MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
  c.shard_count = 4;
  c.replication_factor = kMaxReplicationFactor + 1;
  MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
}

TEST(CollectionConfigTest, ShardReplicaNamesRoundTrip) {
  EXPECT_EQ(shard_replica_name("docs", 0), "docs");
  EXPECT_EQ(shard_replica_name("docs", 17), "docs@17");
  for (uint32_t shard : {0u, 1u, 9u, 10u, 255u}) {
    auto back = parse_shard_replica_name(shard_replica_name("d-1", shard));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->collection, "d-1");
    EXPECT_EQ(back->shard, shard);
  }
  for (const char* bad : {"docs@", "docs@0", "docs@01", "docs@256", "docs@1x", "@1", "do cs",
                          "docs@1@2", "docs@-1"}) {
    SCOPED_TRACE(bad);
    MERIDIAN_EXPECT_CODE(parse_shard_replica_name(bad), absl::StatusCode::kInvalidArgument);
  }
  // A client can never name a shard replica.
  MERIDIAN_EXPECT_CODE(validate_collection_name("docs@1"), absl::StatusCode::kInvalidArgument);
}

TEST(CollectionConfigTest, ValidatesIvfPqAndQuantizationParameters) {
  CollectionConfig pq{"p", 128, Metric::kL2, IndexKind::kIvfPq};
  MERIDIAN_EXPECT_OK(validate_collection_config(pq));  // pq m and refine factor 0: defaults
  EXPECT_EQ(effective_refine_factor(pq), kDefaultIvfPqRefineFactor);
  EXPECT_EQ(ivf_pq_m_for(0, 128), 32u);
  EXPECT_EQ(ivf_pq_m_for(0, 100), 24u);  // 25 rounded down to a multiple of 4
  EXPECT_EQ(ivf_pq_m_for(0, 6), 1u);
  EXPECT_EQ(ivf_pq_m_for(12, 128), 12u);
  pq.ivf_nlist = 64;
  pq.pq_m = 128;
  pq.refine_factor = kMaxRefineFactor;
  MERIDIAN_EXPECT_OK(validate_collection_config(pq));
  pq.pq_m = 129;  // more than dim
  MERIDIAN_EXPECT_CODE(validate_collection_config(pq), absl::StatusCode::kInvalidArgument);
  pq.pq_m = 0;
  pq.refine_factor = kMaxRefineFactor + 1;
  MERIDIAN_EXPECT_CODE(validate_collection_config(pq), absl::StatusCode::kInvalidArgument);
  pq.refine_factor = 0;
  pq.quantization = Quantization::kSq8;
  MERIDIAN_EXPECT_CODE(validate_collection_config(pq), absl::StatusCode::kInvalidArgument);

  for (IndexKind kind : {IndexKind::kHnsw, IndexKind::kIvfFlat}) {
    CollectionConfig c{"q", 16, Metric::kL2, kind};
    c.quantization = Quantization::kSq8;
    MERIDIAN_EXPECT_OK(validate_collection_config(c));
    EXPECT_EQ(effective_refine_factor(c), kDefaultSq8RefineFactor);
    c.refine_factor = 16;
    MERIDIAN_EXPECT_OK(validate_collection_config(c));
    c.quantization = Quantization::kNone;  // nothing to re-rank with
    MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
    c.refine_factor = 0;
    c.pq_m = 4;
    MERIDIAN_EXPECT_CODE(validate_collection_config(c), absl::StatusCode::kInvalidArgument);
  }
  CollectionConfig flat{"f", 16, Metric::kL2, IndexKind::kFlat};
  flat.quantization = Quantization::kSq8;
  MERIDIAN_EXPECT_CODE(validate_collection_config(flat), absl::StatusCode::kInvalidArgument);
  for (Quantization q : {Quantization::kNone, Quantization::kSq8}) {
    auto parsed = parse_quantization(quantization_name(q));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, q);
  }
  MERIDIAN_EXPECT_CODE(parse_quantization("pq"), absl::StatusCode::kInvalidArgument);
}

TEST(IndexKindTest, NamesRoundTrip) {
  for (IndexKind k : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvfFlat, IndexKind::kIvfPq}) {
    auto parsed = parse_index_kind(index_kind_name(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_EQ(index_kind_name(IndexKind::kIvfFlat), "ivf_flat");
  EXPECT_EQ(index_kind_name(IndexKind::kIvfPq), "ivf_pq");
}

TEST(MetricTest, NamesRoundTrip) {
  for (Metric m : {Metric::kL2, Metric::kCosine, Metric::kDot}) {
    auto parsed = parse_metric(metric_name(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  MERIDIAN_EXPECT_CODE(parse_metric("euclid"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_index_kind("hnsw2"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian
