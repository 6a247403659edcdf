// Tests for AeadRecordSealer: round trips, binding to database and record key, every
// corruption and truncation, unknown keys and key rotation.
#include "crypto/aead_record_sealer.h"

#include <string>
#include <thread>
#include <vector>

#include "crypto/plaintext_record_sealer.h"
#include "crypto/sealed_record.h"
#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using testing::test_key_id;
using testing::test_ring;

constexpr std::size_t kOverhead = 9 + 24 + 16;

TEST(AeadRecordSealer, RoundTripsValuesOfManySizes) {
  AeadRecordSealer sealer(test_ring(1));
  EXPECT_TRUE(sealer.encrypts());
  for (std::size_t size : {0u, 1u, 15u, 16u, 17u, 1000u, 1u << 20}) {
    std::string plaintext(size, '\0');
    for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>(i * 31 + 7);
    absl::StatusOr<std::string> sealed = sealer.seal("points", "shard-1/42", plaintext);
    MERIDIAN_ASSERT_OK(sealed);
    EXPECT_EQ(sealed->size(), size + kOverhead);
    absl::StatusOr<std::string> opened = sealer.open("points", "shard-1/42", *sealed);
    MERIDIAN_ASSERT_OK(opened);
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(AeadRecordSealer, FreshNonceEverySealAndNoPlaintextInOutput) {
  AeadRecordSealer sealer(test_ring(1));
  const std::string plaintext = "payload text that must not appear on disk";
  std::string a = sealer.seal("points", "k", plaintext).value();
  std::string b = sealer.seal("points", "k", plaintext).value();
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(9, 24), b.substr(9, 24));
  EXPECT_EQ(a.find("payload"), std::string::npos);
  EXPECT_EQ(a.substr(0, 4), "MSRV");
  EXPECT_EQ(key_id_of_sealed_record(a).value(), test_key_id(1));
}

TEST(AeadRecordSealer, EveryFlippedByteFailsWithoutCrashing) {
  AeadRecordSealer sealer(test_ring(1));
  const std::string sealed = sealer.seal("points", "k", "small value").value();
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string damaged = sealed;
      damaged[i] = static_cast<char>(damaged[i] ^ mask);
      absl::StatusOr<std::string> opened = sealer.open("points", "k", damaged);
      // Bytes 5..8 are the key id: a damaged id names a key this ring does not hold.
      const bool key_id_byte = i >= 5 && i < 9;
      MERIDIAN_EXPECT_CODE(opened, key_id_byte ? absl::StatusCode::kFailedPrecondition
                                               : absl::StatusCode::kDataLoss);
    }
  }
}

TEST(AeadRecordSealer, KeyIdRewrittenToAnotherHeldKeyIsDataLoss) {
  auto ring = test_ring({1, 2}, 1);
  AeadRecordSealer sealer(ring);
  std::string sealed = sealer.seal("points", "k", "value").value();
  std::string other_header;
  append_sealed_record_header(SealedRecordKind::kEncrypted, test_key_id(2), &other_header);
  sealed.replace(0, 9, other_header);
  MERIDIAN_EXPECT_CODE(sealer.open("points", "k", sealed), absl::StatusCode::kDataLoss);
}

TEST(AeadRecordSealer, EveryTruncationAndExtensionIsDataLoss) {
  AeadRecordSealer sealer(test_ring(1));
  const std::string sealed = sealer.seal("points", "k", "small value").value();
  for (std::size_t length = 0; length < sealed.size(); ++length) {
    MERIDIAN_EXPECT_CODE(sealer.open("points", "k", sealed.substr(0, length)),
                         absl::StatusCode::kDataLoss);
  }
  MERIDIAN_EXPECT_CODE(sealer.open("points", "k", sealed + "x"), absl::StatusCode::kDataLoss);
}

TEST(AeadRecordSealer, BoundToDatabaseAndRecordKey) {
  AeadRecordSealer sealer(test_ring(1));
  const std::string sealed = sealer.seal("ab", "c", "value").value();
  MERIDIAN_EXPECT_OK(sealer.open("ab", "c", sealed));
  MERIDIAN_EXPECT_CODE(sealer.open("a", "bc", sealed), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(sealer.open("log", "c", sealed), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(sealer.open("ab", "d", sealed), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(sealer.open("ab", "", sealed), absl::StatusCode::kDataLoss);
}

TEST(AeadRecordSealer, SwappedValuesFailBoth) {
  AeadRecordSealer sealer(test_ring(1));
  const std::string one = sealer.seal("points", "id-1", "vector one").value();
  const std::string two = sealer.seal("points", "id-2", "vector two").value();
  MERIDIAN_EXPECT_CODE(sealer.open("points", "id-1", two), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(sealer.open("points", "id-2", one), absl::StatusCode::kDataLoss);
}

TEST(AeadRecordSealer, WrongKeyRingIsFailedPreconditionNamingTheKeyId) {
  AeadRecordSealer writer(test_ring(1));
  AeadRecordSealer reader(test_ring(2));
  const std::string sealed = writer.seal("points", "k", "value").value();
  absl::StatusOr<std::string> opened = reader.open("points", "k", sealed);
  MERIDIAN_EXPECT_CODE(opened, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(opened.status().message()).find(format_key_id(test_key_id(1))),
            std::string::npos)
      << opened.status();
}

TEST(AeadRecordSealer, RotationReadsOldKeyAndWritesActiveKey) {
  AeadRecordSealer old_sealer(test_ring(1));
  const std::string old_value = old_sealer.seal("points", "k", "written under A").value();

  AeadRecordSealer rotated(test_ring({1, 2}, 2));
  EXPECT_EQ(rotated.open("points", "k", old_value).value(), "written under A");
  const std::string new_value = rotated.seal("points", "k", "written under B").value();
  EXPECT_EQ(key_id_of_sealed_record(old_value).value(), test_key_id(1));
  EXPECT_EQ(key_id_of_sealed_record(new_value).value(), test_key_id(2));

  // Once A is retired, B's values still open and A's name the missing key.
  AeadRecordSealer retired(test_ring(2));
  EXPECT_EQ(retired.open("points", "k", new_value).value(), "written under B");
  MERIDIAN_EXPECT_CODE(retired.open("points", "k", old_value),
                       absl::StatusCode::kFailedPrecondition);
}

TEST(AeadRecordSealer, RefusesPlaintextFramedValues) {
  AeadRecordSealer sealer(test_ring(1));
  const std::string framed = PlaintextRecordSealer().seal("points", "k", "value").value();
  MERIDIAN_EXPECT_CODE(sealer.open("points", "k", framed), absl::StatusCode::kFailedPrecondition);
}

TEST(AeadRecordSealer, ConcurrentSealAndOpen) {
  AeadRecordSealer sealer(test_ring({1, 2}, 2));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string key = std::to_string(t) + "/" + std::to_string(i);
        absl::StatusOr<std::string> sealed = sealer.seal("points", key, key);
        if (!sealed.ok() || sealer.open("points", key, *sealed).value_or("") != key) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace meridian::crypto
