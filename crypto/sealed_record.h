// The framing shared by every sealed LMDB value: magic, format version and key id, and the
// associated data that binds a value to its database and record key. Layout: docs/formats.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/key_id.h"

namespace meridian::crypto {

// magic(4) | version(1) | key id(4, little-endian).
inline constexpr std::size_t kSealedRecordHeaderBytes = 9;
inline constexpr std::uint8_t kSealedRecordVersion = 1;
inline constexpr std::string_view kEncryptedRecordMagic = "MSRV";  // AeadRecordSealer
inline constexpr std::string_view kPlaintextRecordMagic = "MPRV";  // PlaintextRecordSealer

enum class SealedRecordKind { kEncrypted, kPlaintext };

struct SealedRecordHeader {
  SealedRecordKind kind;
  KeyId key_id;
};

// Reads the header of a sealed value without opening it. DataLoss naming what failed when the
// value is shorter than a header, has an unknown magic or version, or a key id that does not
// fit its kind (0 for encrypted values, anything else for plaintext ones).
absl::StatusOr<SealedRecordHeader> parse_sealed_record_header(std::string_view sealed);

// The key id a value was sealed under (kPlaintextKeyId for plaintext-framed values), without
// opening it; key rotation uses it to find values still sealed under an old key. Errors as
// parse_sealed_record_header().
absl::StatusOr<KeyId> key_id_of_sealed_record(std::string_view sealed);

// Appends the header for `kind` and `key_id` to `out`.
void append_sealed_record_header(SealedRecordKind kind, KeyId key_id, std::string* out);

// The associated data for a value: its header bytes, then `database` and `record_key`, each
// prefixed with its length as 8 bytes little-endian, so ("ab", "c") and ("a", "bc") differ.
std::string sealed_record_associated_data(std::string_view header, std::string_view database,
                                          std::string_view record_key);

}  // namespace meridian::crypto
