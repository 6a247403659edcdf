// The on-disk framing of sealed files (segment files, backups): header with magic, version,
// purpose and key id, then length-prefixed secretstream chunks. Layout: docs/formats.md.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/key_id.h"
#include "crypto/key_ring.h"

namespace meridian::crypto {

inline constexpr std::string_view kSealedFileMagic = "MSFL";
inline constexpr std::uint8_t kSealedFileVersion = 1;
inline constexpr std::size_t kSecretStreamHeaderBytes =
    crypto_secretstream_xchacha20poly1305_HEADERBYTES;
// magic(4) | version(1) | purpose(1) | key id(4, LE) | secretstream header(24).
inline constexpr std::size_t kSealedFileHeaderBytes = 10 + kSecretStreamHeaderBytes;
// Per chunk: a 4-byte little-endian length of the ciphertext, which is the plaintext plus
// kSealedFileChunkOverhead bytes (tag byte and MAC).
inline constexpr std::size_t kSealedFileChunkLengthBytes = 4;
inline constexpr std::size_t kSealedFileChunkOverhead =
    crypto_secretstream_xchacha20poly1305_ABYTES;
// Largest plaintext chunk a writer may produce and a reader accepts (bounds reader memory).
inline constexpr std::size_t kMaxSealedFileChunkBytes = 1 << 20;

struct SealedFileHeader {
  KeyPurpose purpose;
  KeyId key_id;
  unsigned char stream_header[kSecretStreamHeaderBytes];
};

// Encodes a header.
std::string encode_sealed_file_header(const SealedFileHeader& header);

// Decodes the first kSealedFileHeaderBytes of a file. DataLoss when `bytes` is shorter, the
// magic or version is unknown, the purpose byte is invalid, or the key id is 0.
absl::StatusOr<SealedFileHeader> parse_sealed_file_header(std::string_view bytes);

// Associated data of the first chunk: the header bytes, then `binding` (the file's name or
// role, chosen by the caller) prefixed with its length as 8 bytes little-endian. It ties the
// stream to its header and binding, so a file cannot be passed off as another.
std::string sealed_file_associated_data(std::string_view header, std::string_view binding);

// The key id in the header of the sealed file at `path`, without opening the stream (key
// rotation uses it). NotFound / errno errors from the file, DataLoss for a bad header.
absl::StatusOr<KeyId> key_id_of_sealed_file(const std::filesystem::path& path);

}  // namespace meridian::crypto
