// Tests for the canonical encoding and digest: round trips, determinism across merge orders, and
// corruption (truncation, bit flips, wrong version) that must fail cleanly.
#include "crdt/point_set_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "crdt/point_replica.h"
#include "tests/support/test_support.h"

namespace meridian::crdt {
namespace {

HlcTimestamp ts(uint64_t ms) { return HlcTimestamp{ms, 0}; }

// A small state with siblings, fields, binary ids and a gap in the context (a cloud).
PointSet sample_state() {
  PointReplica a(1), b(0xfedcba9876543210ULL);
  const PointSet first = a.upsert("p", {1.5f, -2}, {{"k", "\"v\""}}, ts(100));
  b.upsert("p", {3}, {{"k", "1"}, {"n", "null"}}, ts(100));
  const PointSet lost = a.upsert("gap", {0}, {}, ts(101));
  const PointSet later = a.upsert(std::string("\0bin", 4), {}, {{"e", "{}"}}, ts(102));
  b.apply(first);
  b.apply(later);  // `lost` never arrives: its dot is a hole
  EXPECT_FALSE(b.state().context().cloud().empty());
  return b.state();
}

TEST(PointSetCodecTest, RoundTripIsExact) {
  const PointSet s = sample_state();
  const std::string bytes = encode_point_set(s);
  EXPECT_EQ(bytes.substr(0, 4), "MCRD");
  auto decoded = decode_point_set(bytes);
  MERIDIAN_ASSERT_OK(decoded);
  EXPECT_EQ(encode_point_set(*decoded), bytes);
  EXPECT_EQ(decoded->size(), s.size());
  EXPECT_EQ(decoded->get("p")->vector, s.get("p")->vector);
  EXPECT_EQ(decoded->context(), s.context());
}

TEST(PointSetCodecTest, EmptyStateRoundTrips) {
  auto decoded = decode_point_set(encode_point_set(PointSet{}));
  MERIDIAN_ASSERT_OK(decoded);
  EXPECT_EQ(decoded->size(), 0u);
}

TEST(PointSetCodecTest, DigestIsIndependentOfMergeOrder) {
  PointReplica a(1), b(2), c(3);
  std::vector<PointSet> deltas;
  deltas.push_back(a.upsert("x", {1}, {{"f", "1"}}, ts(1)));
  deltas.push_back(b.upsert("x", {2}, {}, ts(1)));
  deltas.push_back(c.upsert("y", {3}, {}, ts(2)));
  c.apply(deltas[0]);
  deltas.push_back(*c.remove("x"));
  PointSet forward, backward;
  for (const PointSet& d : deltas) forward.join(d);
  for (auto it = deltas.rbegin(); it != deltas.rend(); ++it) backward.join(*it);
  EXPECT_EQ(to_hex(digest(forward)), to_hex(digest(backward)));
  EXPECT_EQ(to_hex(digest(forward)).size(), 64u);
  EXPECT_NE(digest(forward), digest(PointSet{}));
}

TEST(PointSetCodecTest, EveryTruncationIsDataLoss) {
  const std::string bytes = encode_point_set(sample_state());
  for (size_t n = 0; n < bytes.size(); ++n) {
    MERIDIAN_EXPECT_CODE(decode_point_set(bytes.substr(0, n)), absl::StatusCode::kDataLoss);
  }
}

TEST(PointSetCodecTest, EveryBitFlipIsRejected) {
  const std::string bytes = encode_point_set(sample_state());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_FALSE(decode_point_set(bad).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(PointSetCodecTest, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (i % 2 == 0) junk = "MCRD\x01\x01" + junk;
    EXPECT_FALSE(decode_point_set(junk).ok());
  }
}

TEST(PointSetCodecTest, OtherVersionIsUnimplemented) {
  std::string bytes = encode_point_set(sample_state());
  bytes[4] = 2;
  MERIDIAN_EXPECT_CODE(decode_point_set(bytes), absl::StatusCode::kUnimplemented);
}

TEST(PointSetCodecTest, VersionVectorRoundTripAndCorruption) {
  VersionVector vv;
  vv.include(Dot{1, 7});
  vv.include(Dot{UINT64_MAX, 1ULL << 40});
  const std::string bytes = encode_version_vector(vv);
  auto decoded = decode_version_vector(bytes);
  MERIDIAN_ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, vv);
  MERIDIAN_EXPECT_CODE(decode_version_vector(bytes.substr(0, bytes.size() - 1)),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_point_set(bytes), absl::StatusCode::kDataLoss);  // wrong kind
}

// Slices + context, as storage keeps them, rebuild exactly the state they were cut from.
TEST(PointSetCodecTest, SlicesAndContextReassembleTheState) {
  const PointSet s = sample_state();
  std::vector<std::pair<PointId, PointRecord>> slices;
  for (const auto& [id, record] : s.records()) {
    auto decoded = decode_point_slice(encode_point_slice(id, record));
    MERIDIAN_ASSERT_OK(decoded);
    EXPECT_EQ(decoded->first, id);
    EXPECT_EQ(encode_point_slice(decoded->first, decoded->second), encode_point_slice(id, record));
    slices.push_back(*std::move(decoded));
  }
  auto context = decode_causal_context(encode_causal_context(s.context()));
  MERIDIAN_ASSERT_OK(context);
  EXPECT_EQ(*context, s.context());
  auto rebuilt = assemble_point_set(*std::move(context), std::move(slices));
  MERIDIAN_ASSERT_OK(rebuilt);
  EXPECT_EQ(encode_point_set(*rebuilt), encode_point_set(s));
  EXPECT_EQ(digest(*rebuilt), digest(s));
}

TEST(PointSetCodecTest, AssembleRejectsDotsOutsideTheContextAndDuplicates) {
  const PointSet s = sample_state();
  const auto& [id, record] = *s.records().begin();
  MERIDIAN_EXPECT_CODE(assemble_point_set(CausalContext{}, {{id, record}}),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(assemble_point_set(s.context(), {{id, record}, {id + "x", record}}),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(assemble_point_set(s.context(), {{id, record}, {id, record}}),
                       absl::StatusCode::kDataLoss);
}

TEST(PointSetCodecTest, EverySliceAndContextCorruptionIsRejected) {
  const PointSet s = sample_state();
  const auto& [id, record] = *s.records().begin();
  const std::string slice = encode_point_slice(id, record);
  const std::string context = encode_causal_context(s.context());
  for (const std::string* bytes : {&slice, &context}) {
    for (size_t n = 0; n < bytes->size(); ++n) {
      EXPECT_FALSE(decode_point_slice(bytes->substr(0, n)).ok());
      EXPECT_FALSE(decode_causal_context(bytes->substr(0, n)).ok());
    }
    for (size_t i = 0; i < bytes->size(); ++i) {
      std::string flipped = *bytes;
      flipped[i] ^= 0x01;
      EXPECT_FALSE(decode_point_slice(flipped).ok()) << i;
      EXPECT_FALSE(decode_causal_context(flipped).ok()) << i;
    }
  }
  // Each kind refuses the other's bytes.
  MERIDIAN_EXPECT_CODE(decode_point_slice(context), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_causal_context(slice), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_point_slice(encode_point_slice(id, PointRecord{})),
                       absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::crdt
