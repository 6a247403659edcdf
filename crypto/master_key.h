// MasterKey: a node's 32-byte at-rest master key and its public key id. Every sub-key (records,
// segment files, backups) is derived from it by KeyRing; the key itself never leaves this module.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "crypto/key_id.h"
#include "crypto/secret_bytes.h"

namespace meridian::crypto {

inline constexpr std::size_t kMasterKeyBytes = 32;

// The environment variable a node may read its master key from, as 64 hex digits.
inline constexpr char kMasterKeyEnvVar[] = "MERIDIAN_MASTER_KEY";

// A master key in guarded memory plus its key id. Move-only; immutable after creation, so
// concurrent const access is safe.
class MasterKey {
 public:
  // A fresh key from libsodium's CSPRNG (randombytes_buf).
  static absl::StatusOr<MasterKey> generate();

  // A key from exactly kMasterKeyBytes raw bytes; InvalidArgument for another length.
  // The caller should wipe `bytes` afterwards.
  static absl::StatusOr<MasterKey> from_bytes(std::span<const unsigned char> bytes);

  // A key taking over `bytes` (already in guarded memory); InvalidArgument unless it is
  // kMasterKeyBytes long.
  static absl::StatusOr<MasterKey> from_secret(SecretBytes bytes);

  MasterKey(MasterKey&&) noexcept = default;
  MasterKey& operator=(MasterKey&&) noexcept = default;

  KeyId id() const { return id_; }
  // The raw key, kMasterKeyBytes long. Only crypto/ code should read it.
  const SecretBytes& bytes() const { return bytes_; }

 private:
  MasterKey(SecretBytes bytes, KeyId id) : bytes_(std::move(bytes)), id_(id) {}

  SecretBytes bytes_;
  KeyId id_ = kPlaintextKeyId;
};

// The key id of `key` (kMasterKeyBytes bytes): the first 4 bytes (little-endian) of
// BLAKE2b-128 keyed by the key over a fixed label; 0 is reserved for plaintext and maps to 1.
// One-way: the id names a key without revealing it.
KeyId derive_key_id(std::span<const unsigned char> key);

// Parses a key written as 64 hex digits (e.g. the value of MERIDIAN_MASTER_KEY); ASCII
// whitespace around it is ignored. InvalidArgument otherwise. Errors never echo the value.
absl::StatusOr<MasterKey> parse_master_key_hex(std::string_view hex);

}  // namespace meridian::crypto
