// Tests for the sealed file header: layout, parsing errors and key_id_of_sealed_file.
#include "crypto/sealed_file_format.h"

#include <string>

#include "crypto/sealed_file_writer.h"
#include "tests/crypto/crypto_test_keys.h"
#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

using meridian::testing::TempDir;
using testing::test_key_id;
using testing::test_ring;

SealedFileHeader sample_header() {
  SealedFileHeader header{KeyPurpose::kBackups, 0x04030201, {}};
  for (std::size_t i = 0; i < kSecretStreamHeaderBytes; ++i) header.stream_header[i] = i;
  return header;
}

TEST(SealedFileFormat, HeaderLayout) {
  const std::string bytes = encode_sealed_file_header(sample_header());
  ASSERT_EQ(bytes.size(), kSealedFileHeaderBytes);
  EXPECT_EQ(bytes.substr(0, 10), std::string("MSFL\x01\x03\x01\x02\x03\x04", 10));
  EXPECT_EQ(bytes[10], 0);
  EXPECT_EQ(bytes[33], 23);
  absl::StatusOr<SealedFileHeader> parsed = parse_sealed_file_header(bytes);
  MERIDIAN_ASSERT_OK(parsed);
  EXPECT_EQ(parsed->purpose, KeyPurpose::kBackups);
  EXPECT_EQ(parsed->key_id, 0x04030201u);
  EXPECT_EQ(parsed->stream_header[23], 23);
}

TEST(SealedFileFormat, BadHeadersAreDataLoss) {
  const std::string good = encode_sealed_file_header(sample_header());
  for (std::size_t length = 0; length < good.size(); ++length) {
    MERIDIAN_EXPECT_CODE(parse_sealed_file_header(good.substr(0, length)),
                         absl::StatusCode::kDataLoss);
  }
  auto with = [&](std::size_t at, char value) {
    std::string bad = good;
    bad[at] = value;
    return bad;
  };
  MERIDIAN_EXPECT_CODE(parse_sealed_file_header(with(0, 'X')), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(parse_sealed_file_header(with(4, 9)), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(parse_sealed_file_header(with(5, 0)), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(parse_sealed_file_header(with(5, 4)), absl::StatusCode::kDataLoss);
  SealedFileHeader zero_id = sample_header();
  zero_id.key_id = 0;
  MERIDIAN_EXPECT_CODE(parse_sealed_file_header(encode_sealed_file_header(zero_id)),
                       absl::StatusCode::kDataLoss);
}

TEST(SealedFileFormat, AssociatedDataIsLengthPrefixed) {
  EXPECT_NE(sealed_file_associated_data("h", "ab"), sealed_file_associated_data("ha", "b"));
  EXPECT_EQ(sealed_file_associated_data("h", "ab"), std::string("h\x02\0\0\0\0\0\0\0ab", 11));
}

TEST(SealedFileFormat, KeyIdOfSealedFile) {
  TempDir dir;
  const auto path = dir.path() / "segment";
  auto writer =
      SealedFileWriter::create(path, test_ring({1, 2}, 2), KeyPurpose::kSegmentFiles, "seg")
          .value();
  MERIDIAN_ASSERT_OK(writer->close());
  EXPECT_EQ(key_id_of_sealed_file(path).value(), test_key_id(2));
  MERIDIAN_EXPECT_CODE(key_id_of_sealed_file(dir.path() / "absent"), absl::StatusCode::kNotFound);
  testing::write_file_bytes(dir.path() / "short", "MSFL");
  MERIDIAN_EXPECT_CODE(key_id_of_sealed_file(dir.path() / "short"), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::crypto
