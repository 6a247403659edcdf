// SealedFileWriter: writes a file (index segment, backup) sealed with
// crypto_secretstream_xchacha20poly1305 under the key ring's active key, published atomically.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/internal/file_io.h"
#include "crypto/internal/secret_stream_state.h"
#include "crypto/key_ring.h"
#include "crypto/sealed_file_format.h"

namespace meridian::crypto {

struct SealedFileOptions {
  // Plaintext bytes per chunk, 1 .. kMaxSealedFileChunkBytes. Every chunk but the last is full.
  std::size_t chunk_bytes = 64 * 1024;
};

// Writes to a temporary name beside `path` (mode 0600); close() seals the last chunk with
// TAG_FINAL, fsyncs, renames the file onto `path` (replacing any file there) and fsyncs the
// directory. Until close() succeeds `path` is untouched; destroying an unclosed writer
// deletes the temporary file. After any error the writer is failed: every later call
// returns that error. Not thread-safe: one thread at a time.
class SealedFileWriter {
 public:
  // Starts a sealed file for `purpose` under the ring's active key. `binding` (e.g. the
  // segment's name) is authenticated with the stream and must be given again to read it.
  // InvalidArgument for a bad chunk size or kRecords purpose; errno errors from the file.
  static absl::StatusOr<std::unique_ptr<SealedFileWriter>> create(
      const std::filesystem::path& path, std::shared_ptr<const KeyRing> ring, KeyPurpose purpose,
      std::string_view binding, SealedFileOptions options = {});

  SealedFileWriter(const SealedFileWriter&) = delete;
  SealedFileWriter& operator=(const SealedFileWriter&) = delete;
  ~SealedFileWriter();

  // Appends plaintext; full chunks are sealed and written as they fill.
  absl::Status append(std::string_view data);

  // Seals the final chunk and publishes the file at path(). FailedPrecondition if already
  // closed.
  absl::Status close();

  KeyId key_id() const { return key_id_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SealedFileWriter(std::filesystem::path path, std::filesystem::path temp_path,
                   internal::FileDescriptor fd, internal::SecretStreamState state,
                   std::string first_chunk_ad, KeyId key_id, std::size_t chunk_bytes)
      : path_(std::move(path)),
        temp_path_(std::move(temp_path)),
        fd_(std::move(fd)),
        state_(std::move(state)),
        first_chunk_ad_(std::move(first_chunk_ad)),
        key_id_(key_id),
        chunk_bytes_(chunk_bytes) {}

  // Seals `buffer_` as one chunk with `tag` and writes it.
  absl::Status write_chunk(unsigned char tag);
  // Records `st` as the writer's failure, removes the temporary file, returns `st`.
  absl::Status fail(absl::Status st);

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  internal::FileDescriptor fd_;
  internal::SecretStreamState state_;
  std::string first_chunk_ad_;
  KeyId key_id_;
  std::size_t chunk_bytes_;
  std::string buffer_;  // plaintext not yet sealed, at most chunk_bytes_
  std::string sealed_;  // scratch for one sealed chunk
  std::size_t chunks_written_ = 0;
  bool closed_ = false;
  absl::Status failure_;
};

}  // namespace meridian::crypto
