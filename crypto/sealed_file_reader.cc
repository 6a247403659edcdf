// SealedFileReader: bounded, chunk-by-chunk secretstream verification.
#include "crypto/sealed_file_reader.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"

namespace meridian::crypto {

absl::StatusOr<std::unique_ptr<SealedFileReader>> SealedFileReader::open(
    const std::filesystem::path& path, std::shared_ptr<const KeyRing> ring, KeyPurpose purpose,
    std::string_view binding) {
  absl::StatusOr<internal::FileDescriptor> fd = internal::open_file(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  char header_bytes[kSealedFileHeaderBytes];
  absl::StatusOr<std::size_t> n =
      internal::read_up_to(*fd, header_bytes, sizeof header_bytes, path);
  if (!n.ok()) return n.status();
  const std::string_view header_view(header_bytes, *n);
  absl::StatusOr<SealedFileHeader> header = parse_sealed_file_header(header_view);
  if (!header.ok()) {
    return absl::DataLossError(
        absl::StrCat(path.string(), ": ", std::string(header.status().message())));
  }
  if (header->purpose != purpose) {
    return absl::DataLossError(absl::StrCat(path.string(), ": sealed file holds ",
                                            std::string(purpose_name(header->purpose)),
                                            ", expected ", std::string(purpose_name(purpose))));
  }
  absl::StatusOr<const SecretBytes*> key = ring->sub_key(header->key_id, purpose);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(path.string(), ": ", std::string(key.status().message())));
  }
  absl::StatusOr<internal::SecretStreamState> state = internal::SecretStreamState::allocate();
  if (!state.ok()) return state.status();
  if (crypto_secretstream_xchacha20poly1305_init_pull(state->get(), header->stream_header,
                                                      (*key)->data()) != 0) {
    return absl::DataLossError(absl::StrCat(path.string(), ": invalid secretstream header"));
  }
  return std::unique_ptr<SealedFileReader>(
      new SealedFileReader(path, *std::move(fd), *std::move(state),
                           sealed_file_associated_data(header_view, binding), header->key_id));
}

absl::Status SealedFileReader::corrupt(std::string_view why) {
  failure_ = absl::DataLossError(absl::StrCat(path_.string(), ": ", std::string(why)));
  (void)fd_.close();
  return failure_;
}

absl::StatusOr<std::optional<std::string>> SealedFileReader::next_chunk() {
  if (!failure_.ok()) return failure_;
  if (finished_) return std::nullopt;
  absl::StatusOr<std::optional<std::string>> chunk = read_chunk();
  if (!chunk.ok() && failure_.ok()) {
    failure_ = chunk.status();
    (void)fd_.close();
  }
  return chunk;
}

absl::StatusOr<std::optional<std::string>> SealedFileReader::read_chunk() {
  const std::size_t index = chunks_read_;
  unsigned char length_bytes[kSealedFileChunkLengthBytes];
  absl::StatusOr<std::size_t> n =
      internal::read_up_to(fd_, length_bytes, sizeof length_bytes, path_);
  if (!n.ok()) return n.status();
  if (*n == 0) {
    return corrupt(absl::StrCat("truncated: ends after chunk ", index,
                                " without the final chunk (missing FINAL tag)"));
  }
  if (*n < sizeof length_bytes) {
    return corrupt(absl::StrCat("truncated inside the length of chunk ", index));
  }
  std::size_t sealed_bytes = 0;
  for (std::size_t i = 0; i < sizeof length_bytes; ++i) {
    sealed_bytes |= static_cast<std::size_t>(length_bytes[i]) << (8 * i);
  }
  if (sealed_bytes < kSealedFileChunkOverhead ||
      sealed_bytes > kMaxSealedFileChunkBytes + kSealedFileChunkOverhead) {
    return corrupt(absl::StrCat("chunk ", index, " has an invalid length ", sealed_bytes));
  }
  std::string sealed(sealed_bytes, '\0');
  n = internal::read_up_to(fd_, sealed.data(), sealed.size(), path_);
  if (!n.ok()) return n.status();
  if (*n < sealed_bytes) {
    return corrupt(
        absl::StrCat("truncated inside chunk ", index, " (", *n, " of ", sealed_bytes, " bytes)"));
  }
  const std::string_view ad = index == 0 ? std::string_view(first_chunk_ad_) : "";
  std::string plaintext(sealed_bytes - kSealedFileChunkOverhead, '\0');
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          state_.get(), reinterpret_cast<unsigned char*>(plaintext.data()), nullptr, &tag,
          reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size()) != 0) {
    return corrupt(absl::StrCat(
        "chunk ", index, " failed authentication under key id ", format_key_id(key_id_),
        index == 0 ? " (tampered, or written for another file name or purpose)"
                   : " (tampered, reordered, or spliced from another file)"));
  }
  ++chunks_read_;
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    char extra;
    n = internal::read_up_to(fd_, &extra, 1, path_);
    if (!n.ok()) return n.status();
    if (*n != 0) return corrupt(absl::StrCat("unexpected bytes after the final chunk ", index));
    finished_ = true;
    (void)fd_.close();
  } else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
    return corrupt(absl::StrCat("chunk ", index, " has unexpected tag ", static_cast<int>(tag)));
  }
  return std::optional<std::string>(std::move(plaintext));
}

absl::StatusOr<std::string> SealedFileReader::read_all() {
  std::string all;
  while (true) {
    absl::StatusOr<std::optional<std::string>> chunk = next_chunk();
    if (!chunk.ok()) return chunk.status();
    if (!chunk->has_value()) return all;
    all.append(**chunk);
  }
}

absl::StatusOr<std::string> read_sealed_file(const std::filesystem::path& path,
                                             std::shared_ptr<const KeyRing> ring,
                                             KeyPurpose purpose, std::string_view binding) {
  absl::StatusOr<std::unique_ptr<SealedFileReader>> reader =
      SealedFileReader::open(path, std::move(ring), purpose, binding);
  if (!reader.ok()) return reader.status();
  return (*reader)->read_all();
}

}  // namespace meridian::crypto
