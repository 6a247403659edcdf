// The checksum and the shared magic/version/checksum frame check of the index encodings.
#include "index/internal/byte_codec.h"

#include "absl/strings/str_cat.h"

namespace meridian::index::internal {

uint64_t format_checksum(std::string_view bytes) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t h = 0xcbf29ce484222325ULL;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * kPrime;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<uint8_t>(bytes[i])) * kPrime;
  return h ^ (h >> 29);
}

absl::StatusOr<ByteReader> open_frame(std::string_view bytes, std::string_view magic,
                                      uint32_t max_version, const char* what, uint32_t* version) {
  if (bytes.size() < magic.size() + sizeof(uint32_t) + kChecksumBytes) {
    return absl::DataLossError(absl::StrCat(what, " encoding: shorter than its frame"));
  }
  if (bytes.substr(0, magic.size()) != magic) {
    return absl::DataLossError(absl::StrCat(what, " encoding: bad magic"));
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumBytes);
  ByteReader in(body.substr(magic.size()));
  in.get(*version);
  if (*version < 1 || *version > max_version) {
    return absl::DataLossError(
        absl::StrCat(what, " encoding: unsupported format version ", *version));
  }
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + body.size(), sizeof(stored));
  if (format_checksum(body) != stored) {
    return absl::DataLossError(absl::StrCat(what, " encoding: checksum mismatch"));
  }
  return in;
}

}  // namespace meridian::index::internal
