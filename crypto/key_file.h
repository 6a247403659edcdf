// Master key files: how a node's at-rest master key is created and loaded from disk.
// The text format ("MERIDIAN-MASTER-KEY 1", key id, 64 hex digits) is in docs/formats.md.
#pragma once

#include <cstddef>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/key_id.h"
#include "crypto/master_key.h"

namespace meridian::crypto {

// Key files larger than this are rejected as malformed without being parsed.
inline constexpr std::size_t kMaxKeyFileBytes = 4096;

// Writes `key` to a new file at `path` with mode 0600. The file appears atomically and complete
// (written and fsynced under a temporary name, then hard-linked into place, which never
// replaces an existing file) or not at all. AlreadyExists if `path` exists; other errors map
// from errno (NotFound for a missing directory, PermissionDenied, ...).
absl::Status write_key_file(const std::filesystem::path& path, const MasterKey& key);

// Generates a fresh random master key and writes it as write_key_file() does.
// Returns the new key's id, for the operator to note.
absl::StatusOr<KeyId> write_new_key_file(const std::filesystem::path& path);

// Loads the key in `path`.
//   NotFound            the file does not exist;
//   FailedPrecondition  not a regular file, or readable/writable by group or others (mode must
//                       be 0600 or 0400: a key file with a loose mode is refused, not warned
//                       about, since the key may already have leaked);
//   DataLoss            malformed: wrong magic, unsupported version, bad hex, too large, or the
//                       key does not match the key id written beside it.
// Errors name the file and never include key material.
absl::StatusOr<MasterKey> load_key_file(const std::filesystem::path& path);

}  // namespace meridian::crypto
