// Tests for MasterKey: generation, raw bytes, hex parsing and key ids.
#include "crypto/master_key.h"

#include <array>
#include <cctype>
#include <string>

#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using testing::test_key;

constexpr char kHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(MasterKey, GeneratedKeysDifferAndHaveIds) {
  MasterKey a = MasterKey::generate().value();
  MasterKey b = MasterKey::generate().value();
  EXPECT_EQ(a.bytes().size(), kMasterKeyBytes);
  EXPECT_FALSE(a.bytes().equals(b.bytes()));
  EXPECT_NE(a.id(), b.id());
  EXPECT_NE(a.id(), kPlaintextKeyId);
}

TEST(MasterKey, FromBytesRejectsWrongLength) {
  std::array<unsigned char, 31> short_key{};
  MERIDIAN_EXPECT_CODE(MasterKey::from_bytes(short_key), absl::StatusCode::kInvalidArgument);
  std::array<unsigned char, 33> long_key{};
  MERIDIAN_EXPECT_CODE(MasterKey::from_bytes(long_key), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(MasterKey::from_secret(SecretBytes::allocate(16).value()),
                       absl::StatusCode::kInvalidArgument);
}

TEST(MasterKey, KeyIdIsDeterministicAndDependsOnTheKey) {
  EXPECT_EQ(test_key(1).id(), test_key(1).id());
  EXPECT_NE(test_key(1).id(), test_key(2).id());
  MasterKey key = test_key(1);
  EXPECT_EQ(derive_key_id(std::span<const unsigned char>(key.bytes().data(), key.bytes().size())),
            key.id());
}

TEST(MasterKey, ParsesHexWithSurroundingWhitespace) {
  absl::StatusOr<MasterKey> key = parse_master_key_hex(std::string("  ") + kHex + "\n");
  MERIDIAN_ASSERT_OK(key);
  EXPECT_EQ(key->id(), test_key(0).id());
  for (std::size_t i = 0; i < kMasterKeyBytes; ++i) EXPECT_EQ(key->bytes().data()[i], i);
}

TEST(MasterKey, ParsesUppercaseHex) {
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  absl::StatusOr<MasterKey> key = parse_master_key_hex(upper);
  MERIDIAN_ASSERT_OK(key);
  EXPECT_EQ(key->id(), test_key(0).id());
}

TEST(MasterKey, RejectsBadHexWithoutEchoingIt) {
  std::string bad = kHex;
  bad[10] = 'g';
  absl::StatusOr<MasterKey> key = parse_master_key_hex(bad);
  MERIDIAN_EXPECT_CODE(key, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(key.status().message()).find("0405"), std::string::npos);
  MERIDIAN_EXPECT_CODE(parse_master_key_hex(""), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_master_key_hex(std::string(kHex).substr(2)),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_master_key_hex(std::string(kHex) + "00"),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_master_key_hex(std::string(kHex).replace(30, 2, " 0")),
                       absl::StatusCode::kInvalidArgument);
}

TEST(MasterKey, EnvVarNameIsStable) { EXPECT_STREQ(kMasterKeyEnvVar, "MERIDIAN_MASTER_KEY"); }

TEST(KeyId, FormatsAsEightHexDigits) {
  EXPECT_EQ(format_key_id(0x1a2b3c4d), "0x1a2b3c4d");
  EXPECT_EQ(format_key_id(7), "0x00000007");
}

}  // namespace
}  // namespace meridian::crypto
