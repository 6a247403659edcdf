// KeyRing: the master keys a node can open data with, one of them active for new writes, and
// the per-purpose sub-keys derived from each (crypto_kdf_derive_from_key).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/key_id.h"
#include "crypto/master_key.h"
#include "crypto/secret_bytes.h"

namespace meridian::crypto {

inline constexpr std::size_t kSubKeyBytes = 32;

// What a sub-key protects. Each purpose has its own 8-byte KDF context, so a key for one
// purpose never opens another's data. The numeric values are stored in sealed file headers.
enum class KeyPurpose : unsigned char {
  kRecords = 1,       // LMDB values (AeadRecordSealer)
  kSegmentFiles = 2,  // index segment files (SealedFileWriter/Reader)
  kBackups = 3,       // backup archives
};

// "records", "segment files", "backups": for error messages.
std::string_view purpose_name(KeyPurpose purpose);

// Master keys by id, with one active key. For rotation, new data is sealed under the active
// key while data sealed under any key in the ring still opens.
//
// Immutable once created: every method is const and safe to call from any number of threads
// at once. To rotate, create a new ring (old keys plus the new one, new one active) and swap the
// shared_ptr that sealers hold; values sealed under a dropped key then fail with
// FailedPrecondition naming its key id.
class KeyRing {
 public:
  // A ring of `keys`, where `active` names the key for new writes. InvalidArgument when `keys`
  // is empty, `active` is not among them, or two different keys share an id (generate another
  // key); the same key listed twice is kept once.
  static absl::StatusOr<std::shared_ptr<const KeyRing>> create(std::vector<MasterKey> keys,
                                                               KeyId active);
  // A ring holding only `key`, active.
  static absl::StatusOr<std::shared_ptr<const KeyRing>> create(MasterKey key);

  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  KeyId active_key_id() const { return active_; }
  bool contains(KeyId id) const;
  // Ids of all keys in the ring, ascending.
  std::vector<KeyId> key_ids() const;

  // The kSubKeyBytes sub-key for `purpose` under key `id`, valid as long as this ring.
  // FailedPrecondition naming `id` (and the ids held) when the ring does not hold that key.
  absl::StatusOr<const SecretBytes*> sub_key(KeyId id, KeyPurpose purpose) const;

 private:
  // The master key itself is not kept: only its derived sub-keys.
  struct Entry {
    KeyId id;
    std::vector<SecretBytes> sub_keys;  // index: KeyPurpose value - 1
  };
  KeyRing(std::vector<Entry> entries, KeyId active)
      : entries_(std::move(entries)), active_(active) {}
  const Entry* find(KeyId id) const;

  std::vector<Entry> entries_;  // sorted by id
  KeyId active_;
};

}  // namespace meridian::crypto
