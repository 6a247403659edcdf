// The seam through which storage/ seals every value it writes to LMDB. Implementations:
// an AEAD sealer under keys derived from the master key, and a plaintext framer for nodes
// started with --insecure-no-encryption. Both frame values with magic, version and key id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace meridian::crypto {

class RecordSealer {
 public:
  virtual ~RecordSealer() = default;

  // Seals `plaintext` for storage under (`database`, `record_key`). Both are bound as
  // associated data: the sealed value opens only under the same database name and key.
  virtual absl::StatusOr<std::string> seal(std::string_view database, std::string_view record_key,
                                           std::string_view plaintext) const = 0;

  // Opens a value produced by seal() for the same (`database`, `record_key`).
  // DataLoss when the value is truncated, tampered with, or stored under another key;
  // FailedPrecondition when it was sealed under a key id this sealer does not hold.
  virtual absl::StatusOr<std::string> open(std::string_view database, std::string_view record_key,
                                           std::string_view sealed) const = 0;

  // True when values are really encrypted (false for the insecure plaintext framer).
  virtual bool encrypts() const = 0;

  // The key id seal() uses now (0 for the plaintext framer). Values whose header names another
  // id are re-sealed by key rotation.
  virtual uint32_t active_key_id() const = 0;
};

}  // namespace meridian::crypto
