// PlaintextRecordSealer: the framer used by nodes started with --insecure-no-encryption.
// Values are stored readable, framed like sealed values so formats stay uniform.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/record_sealer.h"

namespace meridian::crypto {

// Layout (docs/formats.md): "MPRV" | version 1 | key id 0 (4 bytes) | checksum (16) | plaintext.
// The checksum is unkeyed BLAKE2b-128 over the associated data (as for sealed values) and the
// plaintext: it catches corruption and values stored under the wrong database or record key,
// but gives no protection against anyone who can write the disk. No secrecy.
// Errors from open(): DataLoss when truncated, unknown magic/version or checksum mismatch;
// FailedPrecondition for a value encrypted by AeadRecordSealer (names its key id).
// Stateless and thread-safe.
class PlaintextRecordSealer final : public RecordSealer {
 public:
  PlaintextRecordSealer();

  absl::StatusOr<std::string> seal(std::string_view database, std::string_view record_key,
                                   std::string_view plaintext) const override;
  absl::StatusOr<std::string> open(std::string_view database, std::string_view record_key,
                                   std::string_view sealed) const override;
  bool encrypts() const override { return false; }
  uint32_t active_key_id() const override { return 0; }
};

}  // namespace meridian::crypto
