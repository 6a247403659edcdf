// Sealed file header encoding and parsing.
#include "crypto/sealed_file_format.h"

#include <fcntl.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "crypto/internal/file_io.h"

namespace meridian::crypto {

std::string encode_sealed_file_header(const SealedFileHeader& header) {
  std::string out;
  out.reserve(kSealedFileHeaderBytes);
  out.append(kSealedFileMagic);
  out.push_back(static_cast<char>(kSealedFileVersion));
  out.push_back(static_cast<char>(header.purpose));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((header.key_id >> (8 * i)) & 0xff));
  out.append(reinterpret_cast<const char*>(header.stream_header), kSecretStreamHeaderBytes);
  return out;
}

absl::StatusOr<SealedFileHeader> parse_sealed_file_header(std::string_view bytes) {
  if (bytes.size() < kSealedFileHeaderBytes) {
    return absl::DataLossError(absl::StrCat("sealed file truncated: ", bytes.size(),
                                            " bytes, shorter than its ", kSealedFileHeaderBytes,
                                            "-byte header"));
  }
  if (bytes.substr(0, 4) != kSealedFileMagic) {
    return absl::DataLossError("not a sealed file: bad magic (expected MSFL)");
  }
  auto version = static_cast<std::uint8_t>(bytes[4]);
  if (version != kSealedFileVersion) {
    return absl::DataLossError(absl::StrCat("sealed file has unsupported format version ",
                                            static_cast<int>(version), " (this build reads ",
                                            static_cast<int>(kSealedFileVersion), ")"));
  }
  SealedFileHeader header;
  auto purpose = static_cast<unsigned char>(bytes[5]);
  if (purpose < static_cast<unsigned char>(KeyPurpose::kRecords) ||
      purpose > static_cast<unsigned char>(KeyPurpose::kBackups)) {
    return absl::DataLossError(
        absl::StrCat("sealed file has unknown purpose byte ", static_cast<int>(purpose)));
  }
  header.purpose = static_cast<KeyPurpose>(purpose);
  header.key_id = 0;
  for (int i = 0; i < 4; ++i) {
    header.key_id |= static_cast<KeyId>(static_cast<unsigned char>(bytes[6 + i])) << (8 * i);
  }
  if (header.key_id == kPlaintextKeyId) {
    return absl::DataLossError("sealed file carries the plaintext key id 0");
  }
  std::memcpy(header.stream_header, bytes.data() + 10, kSecretStreamHeaderBytes);
  return header;
}

std::string sealed_file_associated_data(std::string_view header, std::string_view binding) {
  std::string ad;
  ad.reserve(header.size() + 8 + binding.size());
  ad.append(header);
  const std::uint64_t size = binding.size();
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  ad.append(binding);
  return ad;
}

absl::StatusOr<KeyId> key_id_of_sealed_file(const std::filesystem::path& path) {
  absl::StatusOr<internal::FileDescriptor> fd = internal::open_file(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  char buffer[kSealedFileHeaderBytes];
  absl::StatusOr<std::size_t> n = internal::read_up_to(*fd, buffer, sizeof buffer, path);
  if (!n.ok()) return n.status();
  absl::StatusOr<SealedFileHeader> header = parse_sealed_file_header(std::string_view(buffer, *n));
  if (!header.ok()) {
    return absl::DataLossError(
        absl::StrCat(path.string(), ": ", std::string(header.status().message())));
  }
  return header->key_id;
}

}  // namespace meridian::crypto
