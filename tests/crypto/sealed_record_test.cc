// Tests for the sealed value header and associated data shared by both record sealers.
#include "crypto/sealed_record.h"

#include <string>

#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

std::string header(SealedRecordKind kind, KeyId id) {
  std::string out;
  append_sealed_record_header(kind, id, &out);
  return out;
}

TEST(SealedRecord, HeaderLayoutIsMagicVersionLittleEndianKeyId) {
  EXPECT_EQ(header(SealedRecordKind::kEncrypted, 0x04030201),
            std::string("MSRV\x01\x01\x02\x03\x04", 9));
  EXPECT_EQ(header(SealedRecordKind::kPlaintext, 0), std::string("MPRV\x01\0\0\0\0", 9));
}

TEST(SealedRecord, ParsesBothKindsAndReportsKeyIds) {
  absl::StatusOr<SealedRecordHeader> h =
      parse_sealed_record_header(header(SealedRecordKind::kEncrypted, 0xdeadbeef) + "rest");
  MERIDIAN_ASSERT_OK(h);
  EXPECT_EQ(h->kind, SealedRecordKind::kEncrypted);
  EXPECT_EQ(h->key_id, 0xdeadbeefu);
  EXPECT_EQ(key_id_of_sealed_record(header(SealedRecordKind::kEncrypted, 42)).value(), 42u);
  EXPECT_EQ(key_id_of_sealed_record(header(SealedRecordKind::kPlaintext, 0)).value(),
            kPlaintextKeyId);
}

TEST(SealedRecord, EveryShortHeaderIsDataLoss) {
  const std::string full = header(SealedRecordKind::kEncrypted, 7);
  for (std::size_t length = 0; length < full.size(); ++length) {
    MERIDIAN_EXPECT_CODE(key_id_of_sealed_record(full.substr(0, length)),
                         absl::StatusCode::kDataLoss);
  }
}

TEST(SealedRecord, BadMagicVersionOrKeyIdIsDataLoss) {
  std::string bad_magic = header(SealedRecordKind::kEncrypted, 7);
  bad_magic[0] = 'X';
  MERIDIAN_EXPECT_CODE(key_id_of_sealed_record(bad_magic), absl::StatusCode::kDataLoss);
  std::string bad_version = header(SealedRecordKind::kEncrypted, 7);
  bad_version[4] = 2;
  absl::StatusOr<KeyId> id = key_id_of_sealed_record(bad_version);
  MERIDIAN_EXPECT_CODE(id, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(id.status().message()).find("version 2"), std::string::npos);
  MERIDIAN_EXPECT_CODE(key_id_of_sealed_record(header(SealedRecordKind::kEncrypted, 0)),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(key_id_of_sealed_record(header(SealedRecordKind::kPlaintext, 5)),
                       absl::StatusCode::kDataLoss);
}

TEST(SealedRecord, AssociatedDataIsLengthPrefixed) {
  const std::string h = header(SealedRecordKind::kEncrypted, 7);
  EXPECT_NE(sealed_record_associated_data(h, "ab", "c"),
            sealed_record_associated_data(h, "a", "bc"));
  EXPECT_NE(sealed_record_associated_data(h, "", "abc"),
            sealed_record_associated_data(h, "abc", ""));
  EXPECT_EQ(sealed_record_associated_data(h, "db", "k"),
            h + std::string("\x02\0\0\0\0\0\0\0db\x01\0\0\0\0\0\0\0k", 19));
}

}  // namespace
}  // namespace meridian::crypto
