// AeadRecordSealer: seals LMDB values with XChaCha20-Poly1305-IETF under the key ring's
// records sub-key, binding each value to its database name and record key.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/key_ring.h"
#include "crypto/record_sealer.h"

namespace meridian::crypto {

// Sealed layout (docs/formats.md): "MSRV" | version 1 | key id (4, LE) | nonce (24) |
// ciphertext | tag (16); 49 bytes of overhead. The associated data is the 9-byte header
// plus the length-prefixed database name and record key.
//
// seal() uses the ring's active key and a fresh random nonce from libsodium's CSPRNG (not the
// injected Env: nonces must never repeat, even across replays). open() accepts any key in the
// ring. Errors from open():
//   DataLoss            truncated, unknown magic or version, or authentication failed
//                       (tampered, or stored under another database or record key);
//   FailedPrecondition  sealed under a key id the ring does not hold (the message names it),
//                       or framed in plaintext by a node running --insecure-no-encryption.
// Thread-safe: every method may run concurrently with any other, set_ring() included; each
// call works on the ring it loaded when it started.
class AeadRecordSealer final : public RecordSealer {
 public:
  explicit AeadRecordSealer(std::shared_ptr<const KeyRing> ring) : ring_(std::move(ring)) {}

  absl::StatusOr<std::string> seal(std::string_view database, std::string_view record_key,
                                   std::string_view plaintext) const override;
  absl::StatusOr<std::string> open(std::string_view database, std::string_view record_key,
                                   std::string_view sealed) const override;
  bool encrypts() const override { return true; }
  uint32_t active_key_id() const override { return ring()->active_key_id(); }

  // The ring in use now.
  std::shared_ptr<const KeyRing> ring() const { return ring_.load(); }
  // Key rotation: later seals use `ring`'s active key, opens accept the keys `ring` holds.
  void set_ring(std::shared_ptr<const KeyRing> ring) { ring_.store(std::move(ring)); }

 private:
  std::atomic<std::shared_ptr<const KeyRing>> ring_;
};

}  // namespace meridian::crypto
