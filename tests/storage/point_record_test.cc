// Tests of the point/collection encodings: round trips, key order, and that every kind of
// corruption is reported as DataLoss instead of crashing.
#include "storage/point_record.h"

#include "tests/support/test_support.h"

namespace meridian::storage {
namespace {

TEST(PointRecordTest, ValueRoundTrips) {
  PointRecord r{PointId::number(42), {1.5f, -2.0f, 0.0f}, R"({"title":"x"})"};
  auto back = decode_point_value(r.id, encode_point_value(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
}

TEST(PointRecordTest, EveryTruncationOrExtensionIsDataLoss) {
  std::string value = encode_point_value({PointId::number(1), {1, 2, 3, 4}, R"({"a":1})"});
  for (size_t len = 0; len < value.size(); ++len) {
    MERIDIAN_EXPECT_CODE(decode_point_value(PointId::number(1), value.substr(0, len)),
                         absl::StatusCode::kDataLoss);
  }
  MERIDIAN_EXPECT_CODE(decode_point_value(PointId::number(1), value + "x"),
                       absl::StatusCode::kDataLoss);
  std::string bad_version = value;
  bad_version[0] = 9;
  MERIDIAN_EXPECT_CODE(decode_point_value(PointId::number(1), bad_version),
                       absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, KeysRoundTripAndSortNumericallyThenUuids) {
  Uuid u{};
  u[0] = 0xff;
  std::vector<PointId> ids = {PointId::number(2), PointId::number(256), PointId::number(1ull << 40),
                              PointId::uuid(Uuid{}), PointId::uuid(u)};
  std::string previous;
  for (const auto& id : ids) {
    std::string key = encode_point_key(7, id);
    EXPECT_LT(previous, key);
    previous = key;
    uint32_t collection = 0;
    auto back = decode_point_key(key, &collection);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, id);
    EXPECT_EQ(collection, 7u);
    EXPECT_TRUE(key.starts_with(collection_key_prefix(7)));
  }
  uint32_t ignored = 0;
  MERIDIAN_EXPECT_CODE(decode_point_key("abc", &ignored), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_point_key(std::string("\0\0\0\1\2xxxxxxxx", 13), &ignored),
                       absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, CollectionValueRoundTripsAndRejectsCorruption) {
  StoredCollection c{3, {"docs", 384, Metric::kCosine, IndexKind::kFlat}};
  std::string value = encode_collection_value(c);
  auto back = decode_collection_value(value);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  for (size_t len = 0; len < value.size(); ++len) {
    MERIDIAN_EXPECT_CODE(decode_collection_value(value.substr(0, len)),
                         absl::StatusCode::kDataLoss);
  }
  std::string bad_metric = value;
  bad_metric[9] = 7;
  MERIDIAN_EXPECT_CODE(decode_collection_value(bad_metric), absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, HnswParametersRoundTripAndVersionOneRecordsStillDecode) {
  StoredCollection c{4, {"h", 64, Metric::kDot, IndexKind::kHnsw, 24, 300}};
  auto back = decode_collection_value(encode_collection_value(c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, c);

  // A version-1 record (as written before HNSW existed): flat, no parameters.
  std::string v1;
  v1.push_back(1);
  for (uint32_t v : {9u, 16u}) {
    for (int i = 0; i < 4; ++i) v1.push_back(static_cast<char>(v >> (8 * i)));
  }
  v1.push_back(0);  // l2
  v1.push_back(0);  // flat
  for (int i = 0; i < 4; ++i) v1.push_back(static_cast<char>(i == 0 ? 3 : 0));
  v1 += "old";
  auto old = decode_collection_value(v1);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->id, 9u);
  EXPECT_EQ(old->config.name, "old");
  EXPECT_EQ(old->config.index_kind, IndexKind::kFlat);
  EXPECT_EQ(old->config.hnsw_m, kDefaultHnswM);
  // Version 1 never held an HNSW collection.
  v1[10] = 1;
  MERIDIAN_EXPECT_CODE(decode_collection_value(v1), absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, CollectionValueVersion3HoldsIvfAndSegmentSettingsAndVersion2StillDecodes) {
  StoredCollection c{5, {"v", 32, Metric::kL2, IndexKind::kIvfFlat}};
  c.config.ivf_nlist = 256;
  c.config.segment_seal_points = 5000;
  c.config.segment_rebuild_deleted_percent = 40;
  // A version-3 record: the version-5 encoding without its last 17 bytes (pq m, refine factor,
  // quantization, shard count, replication factor), which take their defaults.
  std::string v3 = encode_collection_value(c);
  v3 = v3.substr(0, v3.size() - 17);
  v3[0] = 3;
  auto back = decode_collection_value(v3);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, c);
  MERIDIAN_EXPECT_CODE(decode_collection_value(v3.substr(0, v3.size() - 1)),
                       absl::StatusCode::kDataLoss);
  std::string unknown_kind = v3;
  unknown_kind[10] = static_cast<char>(IndexKind::kIvfPq);  // not before version 4
  MERIDIAN_EXPECT_CODE(decode_collection_value(unknown_kind), absl::StatusCode::kDataLoss);

  // A version-2 record (HNSW parameters, nothing after them) takes the segment defaults; it
  // cannot name ivf_flat.
  StoredCollection h{6, {"h", 8, Metric::kL2, IndexKind::kHnsw, 24, 300}};
  std::string v2 = encode_collection_value(h).substr(0, 15 + 1 + 8);
  v2[0] = 2;
  auto old = decode_collection_value(v2);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->config.hnsw_m, 24u);
  EXPECT_EQ(old->config.ivf_nlist, 0u);
  EXPECT_EQ(old->config.segment_seal_points, kDefaultSegmentSealPoints);
  EXPECT_EQ(old->config.segment_rebuild_deleted_percent, kDefaultSegmentRebuildDeletedPercent);
  v2[10] = static_cast<char>(IndexKind::kIvfFlat);
  MERIDIAN_EXPECT_CODE(decode_collection_value(v2), absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, CollectionValueVersion4HoldsIvfPqAndQuantizationSettings) {
  StoredCollection pq{7, {"pq", 128, Metric::kL2, IndexKind::kIvfPq}};
  pq.config.ivf_nlist = 64;
  pq.config.pq_m = 16;
  pq.config.refine_factor = 8;
  pq.config.segment_seal_points = 700;
  StoredCollection sq8{8, {"sq8", 32, Metric::kCosine, IndexKind::kHnsw, 24, 300}};
  sq8.config.quantization = Quantization::kSq8;
  sq8.config.refine_factor = 3;
  for (const StoredCollection& c : {pq, sq8}) {
    // A version-4 record: the version-5 encoding without the sharding parameters.
    std::string v4 = encode_collection_value(c);
    v4 = v4.substr(0, v4.size() - 8);
    v4[0] = 4;
    auto back = decode_collection_value(v4);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c);
    MERIDIAN_EXPECT_CODE(decode_collection_value(v4.substr(0, v4.size() - 1)),
                         absl::StatusCode::kDataLoss);
    MERIDIAN_EXPECT_CODE(decode_collection_value(v4 + "x"), absl::StatusCode::kDataLoss);
    std::string bad_quantization = v4;
    bad_quantization.back() = 2;
    MERIDIAN_EXPECT_CODE(decode_collection_value(bad_quantization), absl::StatusCode::kDataLoss);
    std::string unknown_kind = v4;
    unknown_kind[10] = 4;
    MERIDIAN_EXPECT_CODE(decode_collection_value(unknown_kind), absl::StatusCode::kDataLoss);
  }
}

TEST(PointRecordTest, CollectionValueVersion5HoldsShardingSettings) {
  StoredCollection c{9, {"sharded", 16, Metric::kDot, IndexKind::kFlat}};
  c.config.shard_count = 12;
  c.config.replication_factor = 3;
  const std::string v5 = encode_collection_value(c);
  EXPECT_EQ(v5[0], 5);
  auto back = decode_collection_value(v5);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->config.shard_count, 12u);
  EXPECT_EQ(back->config.replication_factor, 3u);
  EXPECT_EQ(*back, c);
  MERIDIAN_EXPECT_CODE(decode_collection_value(v5.substr(0, v5.size() - 1)),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_collection_value(v5 + "x"), absl::StatusCode::kDataLoss);
  // A shard count of 0 (or above 256) is corruption, not a collection.
  std::string zero_shards = v5;
  for (size_t i = 0; i < 4; ++i) zero_shards[v5.size() - 8 + i] = 0;
  MERIDIAN_EXPECT_CODE(decode_collection_value(zero_shards), absl::StatusCode::kDataLoss);

  // An older record means one shard on every node.
  std::string v4 = v5.substr(0, v5.size() - 8);
  v4[0] = 4;
  auto old = decode_collection_value(v4);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->config.shard_count, 1u);
  EXPECT_EQ(old->config.replication_factor, 0u);
}

}  // namespace
}  // namespace meridian::storage
