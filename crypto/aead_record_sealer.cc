// AeadRecordSealer: XChaCha20-Poly1305-IETF with random nonces and bound associated data.
#include "crypto/aead_record_sealer.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "crypto/sealed_record.h"

namespace meridian::crypto {
namespace {

constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

static_assert(kSubKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

absl::StatusOr<std::string> AeadRecordSealer::seal(std::string_view database,
                                                   std::string_view record_key,
                                                   std::string_view plaintext) const {
  if (plaintext.size() > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX) {
    return absl::InvalidArgumentError("value too large to seal");
  }
  // Hold the ring for the whole call: a concurrent rotation must not free its sub-keys.
  const std::shared_ptr<const KeyRing> ring = ring_.load();
  const KeyId key_id = ring->active_key_id();
  absl::StatusOr<const SecretBytes*> key = ring->sub_key(key_id, KeyPurpose::kRecords);
  if (!key.ok()) return key.status();

  std::string sealed;
  sealed.reserve(kSealedRecordHeaderBytes + kNonceBytes + plaintext.size() + kTagBytes);
  append_sealed_record_header(SealedRecordKind::kEncrypted, key_id, &sealed);
  const std::string ad = sealed_record_associated_data(sealed, database, record_key);
  sealed.resize(kSealedRecordHeaderBytes + kNonceBytes + plaintext.size() + kTagBytes);
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  unsigned char* nonce = out + kSealedRecordHeaderBytes;
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long ciphertext_bytes = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceBytes, &ciphertext_bytes,
                                             bytes_of(plaintext), plaintext.size(), bytes_of(ad),
                                             ad.size(), nullptr, nonce, (*key)->data());
  return sealed;
}

absl::StatusOr<std::string> AeadRecordSealer::open(std::string_view database,
                                                   std::string_view record_key,
                                                   std::string_view sealed) const {
  absl::StatusOr<SealedRecordHeader> header = parse_sealed_record_header(sealed);
  if (!header.ok()) return header.status();
  if (header->kind == SealedRecordKind::kPlaintext) {
    return absl::FailedPreconditionError(
        "value is framed in plaintext (written with --insecure-no-encryption) but this node "
        "encrypts at rest; refusing to read it");
  }
  if (sealed.size() < kSealedRecordHeaderBytes + kNonceBytes + kTagBytes) {
    return absl::DataLossError(absl::StrCat(
        "sealed value truncated: ", sealed.size(), " bytes, shorter than header, nonce and tag (",
        kSealedRecordHeaderBytes + kNonceBytes + kTagBytes, ")"));
  }
  const std::shared_ptr<const KeyRing> ring = ring_.load();
  absl::StatusOr<const SecretBytes*> key = ring->sub_key(header->key_id, KeyPurpose::kRecords);
  if (!key.ok()) return key.status();

  const std::string ad = sealed_record_associated_data(sealed.substr(0, kSealedRecordHeaderBytes),
                                                       database, record_key);
  const unsigned char* nonce = bytes_of(sealed) + kSealedRecordHeaderBytes;
  const std::size_t ciphertext_bytes = sealed.size() - kSealedRecordHeaderBytes - kNonceBytes;
  std::string plaintext(ciphertext_bytes - kTagBytes, '\0');
  unsigned long long plaintext_bytes = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plaintext.data()),
                                                 &plaintext_bytes, nullptr, nonce + kNonceBytes,
                                                 ciphertext_bytes, bytes_of(ad), ad.size(), nonce,
                                                 (*key)->data()) != 0) {
    return absl::DataLossError(absl::StrCat(
        "sealed value failed authentication under key id ", format_key_id(header->key_id),
        ": tampered with, truncated, or stored under another database or record key"));
  }
  return plaintext;
}

}  // namespace meridian::crypto
