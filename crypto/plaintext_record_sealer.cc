// PlaintextRecordSealer: framing and an integrity checksum, no encryption.
#include "crypto/plaintext_record_sealer.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "crypto/sealed_record.h"
#include "crypto/sodium_init.h"

namespace meridian::crypto {
namespace {

constexpr std::size_t kChecksumBytes = 16;

void checksum(std::string_view ad, std::string_view plaintext, unsigned char* out) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kChecksumBytes);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(ad.data()), ad.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(plaintext.data()),
                            plaintext.size());
  crypto_generichash_final(&state, out, kChecksumBytes);
}

}  // namespace

// BLAKE2b works before sodium_init() (reference code); initialising picks the fast one.
PlaintextRecordSealer::PlaintextRecordSealer() { (void)init_sodium(); }

absl::StatusOr<std::string> PlaintextRecordSealer::seal(std::string_view database,
                                                        std::string_view record_key,
                                                        std::string_view plaintext) const {
  std::string framed;
  framed.reserve(kSealedRecordHeaderBytes + kChecksumBytes + plaintext.size());
  append_sealed_record_header(SealedRecordKind::kPlaintext, kPlaintextKeyId, &framed);
  const std::string ad = sealed_record_associated_data(framed, database, record_key);
  unsigned char sum[kChecksumBytes];
  checksum(ad, plaintext, sum);
  framed.append(reinterpret_cast<const char*>(sum), kChecksumBytes);
  framed.append(plaintext);
  return framed;
}

absl::StatusOr<std::string> PlaintextRecordSealer::open(std::string_view database,
                                                        std::string_view record_key,
                                                        std::string_view sealed) const {
  absl::StatusOr<SealedRecordHeader> header = parse_sealed_record_header(sealed);
  if (!header.ok()) return header.status();
  if (header->kind == SealedRecordKind::kEncrypted) {
    return absl::FailedPreconditionError(
        absl::StrCat("value is encrypted under key id ", format_key_id(header->key_id),
                     " but this node runs with --insecure-no-encryption and holds no keys"));
  }
  if (sealed.size() < kSealedRecordHeaderBytes + kChecksumBytes) {
    return absl::DataLossError(absl::StrCat("plaintext-framed value truncated: ", sealed.size(),
                                            " bytes, shorter than header and checksum (",
                                            kSealedRecordHeaderBytes + kChecksumBytes, ")"));
  }
  const std::string ad = sealed_record_associated_data(sealed.substr(0, kSealedRecordHeaderBytes),
                                                       database, record_key);
  std::string_view plaintext = sealed.substr(kSealedRecordHeaderBytes + kChecksumBytes);
  unsigned char sum[kChecksumBytes];
  checksum(ad, plaintext, sum);
  if (sodium_memcmp(sum, sealed.data() + kSealedRecordHeaderBytes, kChecksumBytes) != 0) {
    return absl::DataLossError(
        "plaintext-framed value failed its checksum: corrupted, or stored under another "
        "database or record key");
  }
  return std::string(plaintext);
}

}  // namespace meridian::crypto
