// SealedFileWriter: chunked secretstream sealing with an atomic, durable publish.
#include "crypto/sealed_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace meridian::crypto {

absl::StatusOr<std::unique_ptr<SealedFileWriter>> SealedFileWriter::create(
    const std::filesystem::path& path, std::shared_ptr<const KeyRing> ring, KeyPurpose purpose,
    std::string_view binding, SealedFileOptions options) {
  if (options.chunk_bytes == 0 || options.chunk_bytes > kMaxSealedFileChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("sealed file chunk size must be 1 .. ",
                                                   kMaxSealedFileChunkBytes, " bytes, got ",
                                                   options.chunk_bytes));
  }
  if (purpose == KeyPurpose::kRecords) {
    return absl::InvalidArgumentError("sealed files are for segment files or backups, not records");
  }
  const KeyId key_id = ring->active_key_id();
  absl::StatusOr<const SecretBytes*> key = ring->sub_key(key_id, purpose);
  if (!key.ok()) return key.status();
  absl::StatusOr<internal::SecretStreamState> state = internal::SecretStreamState::allocate();
  if (!state.ok()) return state.status();

  SealedFileHeader header{purpose, key_id, {}};
  crypto_secretstream_xchacha20poly1305_init_push(state->get(), header.stream_header,
                                                  (*key)->data());
  const std::string header_bytes = encode_sealed_file_header(header);

  std::filesystem::path temp = internal::temporary_path_for(path);
  absl::StatusOr<internal::FileDescriptor> fd =
      internal::open_file(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (!fd.ok()) return fd.status();
  if (absl::Status st = internal::write_all(*fd, header_bytes.data(), header_bytes.size(), temp);
      !st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  return std::unique_ptr<SealedFileWriter>(new SealedFileWriter(
      path, std::move(temp), *std::move(fd), *std::move(state),
      sealed_file_associated_data(header_bytes, binding), key_id, options.chunk_bytes));
}

SealedFileWriter::~SealedFileWriter() {
  if (!closed_ && failure_.ok()) {
    (void)fd_.close();
    ::unlink(temp_path_.c_str());
  }
}

absl::Status SealedFileWriter::fail(absl::Status st) {
  failure_ = st;
  (void)fd_.close();
  ::unlink(temp_path_.c_str());
  return st;
}

absl::Status SealedFileWriter::write_chunk(unsigned char tag) {
  const std::size_t sealed_bytes = buffer_.size() + kSealedFileChunkOverhead;
  sealed_.resize(kSealedFileChunkLengthBytes + sealed_bytes);
  for (std::size_t i = 0; i < kSealedFileChunkLengthBytes; ++i) {
    sealed_[i] = static_cast<char>((sealed_bytes >> (8 * i)) & 0xff);
  }
  const std::string_view ad = chunks_written_ == 0 ? std::string_view(first_chunk_ad_) : "";
  crypto_secretstream_xchacha20poly1305_push(
      state_.get(), reinterpret_cast<unsigned char*>(sealed_.data()) + kSealedFileChunkLengthBytes,
      nullptr, reinterpret_cast<const unsigned char*>(buffer_.data()), buffer_.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), tag);
  if (absl::Status st = internal::write_all(fd_, sealed_.data(), sealed_.size(), temp_path_);
      !st.ok()) {
    return st;
  }
  ++chunks_written_;
  buffer_.clear();
  return absl::OkStatus();
}

absl::Status SealedFileWriter::append(std::string_view data) {
  if (!failure_.ok()) return failure_;
  if (closed_) return absl::FailedPreconditionError("sealed file writer already closed");
  while (!data.empty()) {
    // A full buffer is sealed only once more data arrives, so the last chunk can carry FINAL.
    if (buffer_.size() == chunk_bytes_) {
      if (absl::Status st = write_chunk(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
          !st.ok()) {
        return fail(st);
      }
    }
    std::size_t take = std::min(chunk_bytes_ - buffer_.size(), data.size());
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  return absl::OkStatus();
}

absl::Status SealedFileWriter::close() {
  if (!failure_.ok()) return failure_;
  if (closed_) return absl::FailedPreconditionError("sealed file writer already closed");
  if (absl::Status st = write_chunk(crypto_secretstream_xchacha20poly1305_TAG_FINAL); !st.ok()) {
    return fail(st);
  }
  if (::fsync(fd_.get()) != 0) return fail(internal::errno_status(errno, "fsync", temp_path_));
  if (absl::Status st = fd_.close(); !st.ok()) return fail(st);
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return fail(internal::errno_status(errno, "rename onto", path_));
  }
  closed_ = true;
  return internal::sync_parent_directory(path_);
}

}  // namespace meridian::crypto
