// MasterKey creation, key id derivation and hex parsing.
#include "crypto/master_key.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace meridian::crypto {
namespace {

// Changing this label changes every key id: it is part of the key file and sealed formats.
constexpr char kKeyIdLabel[] = "meridian master key id v1";

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

KeyId derive_key_id(std::span<const unsigned char> key) {
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(kKeyIdLabel),
                     sizeof kKeyIdLabel - 1, key.data(), key.size());
  KeyId id = static_cast<KeyId>(digest[0]) | static_cast<KeyId>(digest[1]) << 8 |
             static_cast<KeyId>(digest[2]) << 16 | static_cast<KeyId>(digest[3]) << 24;
  return id == kPlaintextKeyId ? KeyId{1} : id;
}

absl::StatusOr<MasterKey> MasterKey::from_secret(SecretBytes bytes) {
  if (bytes.size() != kMasterKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a master key is ", kMasterKeyBytes, " bytes, got ", bytes.size()));
  }
  KeyId id = derive_key_id(std::span<const unsigned char>(bytes.data(), bytes.size()));
  return MasterKey(std::move(bytes), id);
}

absl::StatusOr<MasterKey> MasterKey::generate() {
  absl::StatusOr<SecretBytes> bytes = SecretBytes::allocate(kMasterKeyBytes);
  if (!bytes.ok()) return bytes.status();
  randombytes_buf(bytes->data(), bytes->size());
  return from_secret(*std::move(bytes));
}

absl::StatusOr<MasterKey> MasterKey::from_bytes(std::span<const unsigned char> bytes) {
  if (bytes.size() != kMasterKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a master key is ", kMasterKeyBytes, " bytes, got ", bytes.size()));
  }
  absl::StatusOr<SecretBytes> secret = SecretBytes::allocate(kMasterKeyBytes);
  if (!secret.ok()) return secret.status();
  std::memcpy(secret->data(), bytes.data(), kMasterKeyBytes);
  return from_secret(*std::move(secret));
}

absl::StatusOr<MasterKey> parse_master_key_hex(std::string_view hex) {
  while (!hex.empty() && is_ascii_space(hex.front())) hex.remove_prefix(1);
  while (!hex.empty() && is_ascii_space(hex.back())) hex.remove_suffix(1);
  if (hex.size() != 2 * kMasterKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a master key is written as ",
                                                   2 * kMasterKeyBytes, " hex digits, got ",
                                                   hex.size(), " characters"));
  }
  absl::StatusOr<SecretBytes> secret = SecretBytes::allocate(kMasterKeyBytes);
  if (!secret.ok()) return secret.status();
  std::size_t decoded = 0;
  const char* end = nullptr;
  // sodium_hex2bin is constant-time in the digits, so parsing leaks nothing through timing.
  if (sodium_hex2bin(secret->data(), secret->size(), hex.data(), hex.size(), nullptr, &decoded,
                     &end) != 0 ||
      decoded != kMasterKeyBytes || end != hex.data() + hex.size()) {
    return absl::InvalidArgumentError("a master key must be hex digits only (0-9, a-f)");
  }
  return MasterKey::from_secret(*std::move(secret));
}

}  // namespace meridian::crypto
