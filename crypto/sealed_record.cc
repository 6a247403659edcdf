// Sealed value header encoding and parsing, and associated data construction.
#include "crypto/sealed_record.h"

#include "absl/strings/str_cat.h"

namespace meridian::crypto {
namespace {

void append_u64_le(std::uint64_t value, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

absl::StatusOr<SealedRecordHeader> parse_sealed_record_header(std::string_view sealed) {
  if (sealed.size() < kSealedRecordHeaderBytes) {
    return absl::DataLossError(absl::StrCat("sealed value truncated: ", sealed.size(),
                                            " bytes, shorter than its ", kSealedRecordHeaderBytes,
                                            "-byte header"));
  }
  SealedRecordHeader header;
  std::string_view magic = sealed.substr(0, 4);
  if (magic == kEncryptedRecordMagic) {
    header.kind = SealedRecordKind::kEncrypted;
  } else if (magic == kPlaintextRecordMagic) {
    header.kind = SealedRecordKind::kPlaintext;
  } else {
    return absl::DataLossError("not a sealed value: bad magic (expected MSRV or MPRV)");
  }
  auto version = static_cast<std::uint8_t>(sealed[4]);
  if (version != kSealedRecordVersion) {
    return absl::DataLossError(
        absl::StrCat("sealed value has unsupported format version ", static_cast<int>(version),
                     " (this build reads version ", static_cast<int>(kSealedRecordVersion), ")"));
  }
  header.key_id = 0;
  for (int i = 0; i < 4; ++i) {
    header.key_id |= static_cast<KeyId>(static_cast<unsigned char>(sealed[5 + i])) << (8 * i);
  }
  if (header.kind == SealedRecordKind::kEncrypted && header.key_id == kPlaintextKeyId) {
    return absl::DataLossError("encrypted sealed value carries the plaintext key id 0");
  }
  if (header.kind == SealedRecordKind::kPlaintext && header.key_id != kPlaintextKeyId) {
    return absl::DataLossError(absl::StrCat("plaintext-framed value carries key id ",
                                            format_key_id(header.key_id), " instead of 0"));
  }
  return header;
}

absl::StatusOr<KeyId> key_id_of_sealed_record(std::string_view sealed) {
  absl::StatusOr<SealedRecordHeader> header = parse_sealed_record_header(sealed);
  if (!header.ok()) return header.status();
  return header->key_id;
}

void append_sealed_record_header(SealedRecordKind kind, KeyId key_id, std::string* out) {
  out->append(kind == SealedRecordKind::kEncrypted ? kEncryptedRecordMagic : kPlaintextRecordMagic);
  out->push_back(static_cast<char>(kSealedRecordVersion));
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((key_id >> (8 * i)) & 0xff));
}

std::string sealed_record_associated_data(std::string_view header, std::string_view database,
                                          std::string_view record_key) {
  std::string ad;
  ad.reserve(header.size() + 16 + database.size() + record_key.size());
  ad.append(header);
  append_u64_le(database.size(), &ad);
  ad.append(database);
  append_u64_le(record_key.size(), &ad);
  ad.append(record_key);
  return ad;
}

}  // namespace meridian::crypto
