// Tests for PlaintextRecordSealer: framing, checksum, corruption and refusing encrypted values.
#include "crypto/plaintext_record_sealer.h"

#include <string>

#include "crypto/aead_record_sealer.h"
#include "crypto/sealed_record.h"
#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using testing::test_ring;

TEST(PlaintextRecordSealer, RoundTripsAndFramesWithKeyIdZero) {
  PlaintextRecordSealer sealer;
  EXPECT_FALSE(sealer.encrypts());
  for (std::string plaintext : {std::string(), std::string("value"), std::string(5000, 'z')}) {
    std::string framed = sealer.seal("points", "k", plaintext).value();
    EXPECT_EQ(framed.size(), 9 + 16 + plaintext.size());
    EXPECT_EQ(framed.substr(0, 4), "MPRV");
    EXPECT_EQ(key_id_of_sealed_record(framed).value(), kPlaintextKeyId);
    EXPECT_EQ(framed.substr(25), plaintext);  // readable on disk: that is what insecure means
    EXPECT_EQ(sealer.open("points", "k", framed).value(), plaintext);
  }
}

TEST(PlaintextRecordSealer, EveryFlippedByteAndTruncationIsDataLoss) {
  PlaintextRecordSealer sealer;
  const std::string framed = sealer.seal("points", "k", "small value").value();
  for (std::size_t i = 0; i < framed.size(); ++i) {
    std::string damaged = framed;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    MERIDIAN_EXPECT_CODE(sealer.open("points", "k", damaged), absl::StatusCode::kDataLoss);
  }
  for (std::size_t length = 0; length < framed.size(); ++length) {
    MERIDIAN_EXPECT_CODE(sealer.open("points", "k", framed.substr(0, length)),
                         absl::StatusCode::kDataLoss);
  }
}

TEST(PlaintextRecordSealer, BoundToDatabaseAndRecordKey) {
  PlaintextRecordSealer sealer;
  const std::string framed = sealer.seal("ab", "c", "value").value();
  MERIDIAN_EXPECT_CODE(sealer.open("a", "bc", framed), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(sealer.open("ab", "d", framed), absl::StatusCode::kDataLoss);
}

TEST(PlaintextRecordSealer, RefusesEncryptedValuesNamingTheKeyId) {
  auto ring = test_ring(1);
  const std::string sealed = AeadRecordSealer(ring).seal("points", "k", "value").value();
  absl::StatusOr<std::string> opened = PlaintextRecordSealer().open("points", "k", sealed);
  MERIDIAN_EXPECT_CODE(opened, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(opened.status().message()).find(format_key_id(ring->active_key_id())),
            std::string::npos);
}

}  // namespace
}  // namespace meridian::crypto
