// Tests of replication/wire_codec.h: round trips of every message kind and corrupt input, which
// must give an error and never crash.
#include "replication/wire_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

std::vector<PeerMessage> samples() {
  crdt::VersionVector vv;
  vv.include(crdt::Dot{3, 9});
  const ShardRef shard{"docs", 7};
  return {
      PeerMessage{shard, 1, Hello{"eu", 4, vv, TransferResume{77, "id5"}, true, 42}},
      PeerMessage{shard, 1, Hello{"us", 0, {}, std::nullopt, false, 0}},
      PeerMessage{shard, 2, DeltaInterval{3, 8, std::string("MCRD\x01\x01xyz", 9)}},
      PeerMessage{shard, 2, DeltaAck{8}},
      PeerMessage{shard, 3, Exchange{5, vv, true}},
      PeerMessage{shard, 3, FullStateChunk{77, 12, "a", "m", false, "ctx", "recs"}},
      PeerMessage{shard, 3, FullStateAck{77, "m", false, true}},
      PeerMessage{shard, 3, DeltaReject{4, 9, true, "remote delta: dimension 3, expected 2"}},
  };
}

TEST(WireCodecTest, EveryKindRoundTrips) {
  for (const PeerMessage& m : samples()) {
    auto back = decode_peer_message(encode_peer_message(m));
    ASSERT_TRUE(back.ok()) << kind_name(m.body) << ": " << back.status();
    EXPECT_EQ(*back, m) << kind_name(m.body);
  }
}

TEST(WireCodecTest, BadFramingIsRejected) {
  const std::string good = encode_peer_message(samples()[0]);
  MERIDIAN_EXPECT_CODE(decode_peer_message(""), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_peer_message(good.substr(0, good.size() - 3)),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_peer_message(good.substr(0, good.size() - 8)),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(decode_peer_message(good + std::string(8, '\0')),
                       absl::StatusCode::kDataLoss);
  std::string other = good;
  other[4] = 2;
  MERIDIAN_EXPECT_CODE(decode_peer_message(other), absl::StatusCode::kUnimplemented);
  MERIDIAN_EXPECT_CODE(decode_peer_message(good, WireLimits{.max_message_bytes = 16}),
                       absl::StatusCode::kDataLoss);
}

TEST(WireCodecTest, CorruptVersionVectorIsDataLoss) {
  PeerMessage m = samples()[4];
  std::string bytes = encode_peer_message(m);
  // Flip a byte inside the embedded crdt bytes ("MCRD" marks them).
  const size_t at = bytes.find("MCRD");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] ^= 0x55;
  MERIDIAN_EXPECT_CODE(decode_peer_message(bytes), absl::StatusCode::kDataLoss);
}

TEST(WireCodecTest, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(1);
  for (const PeerMessage& m : samples()) {
    const std::string good = encode_peer_message(m);
    for (int i = 0; i < 2000; ++i) {
      std::string bad = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bad[8 + rng() % (bad.size() - 8)] ^= char(1 << (rng() % 8));
      auto r = decode_peer_message(bad);  // any outcome but a crash; errors are DataLoss
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
      }
    }
  }
}

TEST(WireCodecTest, TraversalLimitIsEnforced) {
  PeerMessage m = samples()[5];
  std::get<FullStateChunk>(m.body).records = std::string(1 << 16, 'x');
  MERIDIAN_EXPECT_CODE(
      decode_peer_message(encode_peer_message(m), WireLimits{.traversal_limit_words = 64}),
      absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::replication
