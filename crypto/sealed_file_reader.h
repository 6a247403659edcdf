// SealedFileReader: opens a file written by SealedFileWriter, verifying every chunk, the
// binding, the chunk order and the final tag.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/internal/file_io.h"
#include "crypto/internal/secret_stream_state.h"
#include "crypto/key_ring.h"
#include "crypto/sealed_file_format.h"

namespace meridian::crypto {

// Reads chunk by chunk. Each chunk returned is authentic and in order, but the file is only
// known to be complete once next_chunk() has returned nullopt (the FINAL chunk was verified and
// nothing follows it): act on streamed data only after that, or use read_all().
// Errors (after one, the reader is failed and returns it again):
//   NotFound / errno codes  the file cannot be opened or read;
//   DataLoss                bad magic/version, wrong purpose, truncated anywhere, a chunk that
//                           fails authentication (flipped, reordered, spliced from another
//                           file, or another binding), missing FINAL tag, bytes after FINAL;
//   FailedPrecondition      sealed under a key id the ring does not hold (named in the message).
// Messages name the file and the chunk index. Not thread-safe: one thread at a time.
class SealedFileReader {
 public:
  // Opens `path`, expecting a file of `purpose` written with the same `binding`.
  static absl::StatusOr<std::unique_ptr<SealedFileReader>> open(const std::filesystem::path& path,
                                                                std::shared_ptr<const KeyRing> ring,
                                                                KeyPurpose purpose,
                                                                std::string_view binding);

  SealedFileReader(const SealedFileReader&) = delete;
  SealedFileReader& operator=(const SealedFileReader&) = delete;

  // The next chunk's plaintext, or nullopt once the whole file has been verified.
  absl::StatusOr<std::optional<std::string>> next_chunk();

  // The remaining plaintext, after verifying the whole file.
  absl::StatusOr<std::string> read_all();

  KeyId key_id() const { return key_id_; }

 private:
  SealedFileReader(std::filesystem::path path, internal::FileDescriptor fd,
                   internal::SecretStreamState state, std::string first_chunk_ad, KeyId key_id)
      : path_(std::move(path)),
        fd_(std::move(fd)),
        state_(std::move(state)),
        first_chunk_ad_(std::move(first_chunk_ad)),
        key_id_(key_id) {}

  absl::StatusOr<std::optional<std::string>> read_chunk();
  absl::Status corrupt(std::string_view why);

  std::filesystem::path path_;
  internal::FileDescriptor fd_;
  internal::SecretStreamState state_;
  std::string first_chunk_ad_;
  KeyId key_id_;
  std::size_t chunks_read_ = 0;
  bool finished_ = false;
  absl::Status failure_;
};

// Reads and verifies the whole sealed file at `path`; errors as SealedFileReader.
absl::StatusOr<std::string> read_sealed_file(const std::filesystem::path& path,
                                             std::shared_ptr<const KeyRing> ring,
                                             KeyPurpose purpose, std::string_view binding);

}  // namespace meridian::crypto
