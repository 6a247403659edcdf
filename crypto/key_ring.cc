// KeyRing: validates the key set and derives every purpose's sub-key up front.
#include "crypto/key_ring.h"

#include <sodium.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace meridian::crypto {
namespace {

constexpr KeyPurpose kAllPurposes[] = {KeyPurpose::kRecords, KeyPurpose::kSegmentFiles,
                                       KeyPurpose::kBackups};

// crypto_kdf contexts are exactly 8 bytes. Changing one makes every value of that purpose
// unreadable: they are part of the on-disk formats.
const char* kdf_context(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kRecords:
      return "MrdRecrd";
    case KeyPurpose::kSegmentFiles:
      return "MrdSegmt";
    case KeyPurpose::kBackups:
      return "MrdBckup";
  }
  return "MrdUnknw";
}

// Sub-key id within a context; a future derivation scheme would use another id.
constexpr std::uint64_t kSubKeyId = 1;

}  // namespace

static_assert(crypto_kdf_KEYBYTES == kMasterKeyBytes);
static_assert(crypto_kdf_CONTEXTBYTES == 8);

std::string_view purpose_name(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kRecords:
      return "records";
    case KeyPurpose::kSegmentFiles:
      return "segment files";
    case KeyPurpose::kBackups:
      return "backups";
  }
  return "unknown purpose";
}

absl::StatusOr<std::shared_ptr<const KeyRing>> KeyRing::create(MasterKey key) {
  KeyId id = key.id();
  std::vector<MasterKey> keys;
  keys.push_back(std::move(key));
  return create(std::move(keys), id);
}

absl::StatusOr<std::shared_ptr<const KeyRing>> KeyRing::create(std::vector<MasterKey> keys,
                                                               KeyId active) {
  if (keys.empty()) return absl::InvalidArgumentError("a key ring needs at least one key");
  std::sort(keys.begin(), keys.end(),
            [](const MasterKey& a, const MasterKey& b) { return a.id() < b.id(); });
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const MasterKey& key = keys[i];
    if (i > 0 && keys[i - 1].id() == key.id()) {
      if (keys[i - 1].bytes().equals(key.bytes())) continue;
      return absl::InvalidArgumentError(absl::StrCat("two different master keys share key id ",
                                                     format_key_id(key.id()),
                                                     "; generate another key"));
    }
    Entry entry{key.id(), {}};
    for (KeyPurpose purpose : kAllPurposes) {
      absl::StatusOr<SecretBytes> sub_key = SecretBytes::allocate(kSubKeyBytes);
      if (!sub_key.ok()) return sub_key.status();
      crypto_kdf_derive_from_key(sub_key->data(), sub_key->size(), kSubKeyId, kdf_context(purpose),
                                 key.bytes().data());
      entry.sub_keys.push_back(*std::move(sub_key));
    }
    entries.push_back(std::move(entry));
  }
  std::shared_ptr<const KeyRing> ring(new KeyRing(std::move(entries), active));
  if (!ring->contains(active)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the active key id ", format_key_id(active), " is not among the ring's keys"));
  }
  return ring;
}

const KeyRing::Entry* KeyRing::find(KeyId id) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                             [](const Entry& e, KeyId wanted) { return e.id < wanted; });
  return it != entries_.end() && it->id == id ? &*it : nullptr;
}

bool KeyRing::contains(KeyId id) const { return find(id) != nullptr; }

std::vector<KeyId> KeyRing::key_ids() const {
  std::vector<KeyId> ids;
  for (const Entry& e : entries_) ids.push_back(e.id);
  return ids;
}

absl::StatusOr<const SecretBytes*> KeyRing::sub_key(KeyId id, KeyPurpose purpose) const {
  const Entry* entry = find(id);
  if (entry == nullptr) {
    std::vector<std::string> held;
    for (const Entry& e : entries_) held.push_back(format_key_id(e.id));
    return absl::FailedPreconditionError(
        absl::StrCat("sealed under master key id ", format_key_id(id),
                     ", which this node's key ring does not hold (it holds ",
                     absl::StrJoin(held, ", "), "); load that key to read it"));
  }
  std::size_t index = static_cast<std::size_t>(purpose) - 1;
  if (index >= entry->sub_keys.size()) {
    return absl::InvalidArgumentError("unknown key purpose");
  }
  return &entry->sub_keys[index];
}

}  // namespace meridian::crypto
