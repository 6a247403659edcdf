// Tests of the `causal` record and joined-through value encodings: exact round trip, and
// truncation or a bad version fail cleanly.
#include "storage/causal_record.h"

#include "tests/support/test_support.h"

namespace meridian::storage {
namespace {

TEST(CausalRecordTest, RoundTripIsExact) {
  CausalRecord r{0x0123456789abcdefULL, std::string("ctx\0bytes", 9), 1700000000123ULL, 77};
  auto decoded = decode_causal_record(encode_causal_record(r));
  MERIDIAN_ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, r);
}

TEST(CausalRecordTest, CorruptionIsRejected) {
  const std::string bytes = encode_causal_record(CausalRecord{5, "ctx", 10, 3});
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_causal_record(bytes.substr(0, n)).ok()) << n;
  }
  MERIDIAN_EXPECT_CODE(decode_causal_record(bytes + "x"), absl::StatusCode::kDataLoss);
  std::string other_version = bytes;
  other_version[0] = 9;
  MERIDIAN_EXPECT_CODE(decode_causal_record(other_version), absl::StatusCode::kUnimplemented);
  MERIDIAN_EXPECT_CODE(decode_causal_record(encode_causal_record(CausalRecord{0, "", 0, 1})),
                       absl::StatusCode::kDataLoss);
}

TEST(JoinedThroughTest, RoundTripIsExact) {
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{0xfedcba9876543210ULL}}) {
    auto decoded = decode_joined_through(encode_joined_through(seq));
    MERIDIAN_ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, seq);
  }
}

TEST(JoinedThroughTest, CorruptionIsRejected) {
  const std::string bytes = encode_joined_through(77);
  for (size_t n = 0; n < bytes.size(); ++n) {
    MERIDIAN_EXPECT_CODE(decode_joined_through(bytes.substr(0, n)), absl::StatusCode::kDataLoss);
  }
  MERIDIAN_EXPECT_CODE(decode_joined_through(bytes + "x"), absl::StatusCode::kDataLoss);
  std::string other_version = bytes;
  other_version[0] = 2;
  MERIDIAN_EXPECT_CODE(decode_joined_through(other_version), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace meridian::storage
