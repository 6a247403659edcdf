// Record sealer selection; see sealer_setup.h.
#include "node/sealer_setup.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "crypto/aead_record_sealer.h"
#include "crypto/key_file.h"
#include "crypto/key_ring.h"
#include "crypto/master_key.h"
#include "crypto/plaintext_record_sealer.h"
#include "node/log.h"

namespace meridian::node {

absl::StatusOr<AtRestSealing> make_record_sealer(const DaemonConfig& config) {
  const char* env_key = std::getenv(crypto::kMasterKeyEnvVar);
  bool has_key = !config.key_files.empty() || (env_key != nullptr && *env_key != '\0');
  AtRestSealing out;
  if (config.insecure_no_encryption) {
    if (has_key) {
      return absl::InvalidArgumentError(
          "both a master key and --insecure-no-encryption were given; choose one");
    }
    log_warning(
        "ENCRYPTION AT REST IS OFF (--insecure-no-encryption): vectors and payloads are stored "
        "in the clear. Use this for tests and demos only.");
    out.sealer = std::make_unique<crypto::PlaintextRecordSealer>();
    return out;
  }
  if (!has_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("no master key: pass --key-file FILE (create one with `meridian keygen --out "
                     "FILE`), set $",
                     crypto::kMasterKeyEnvVar,
                     ", or start with --insecure-no-encryption to store data unencrypted"));
  }
  if (config.key_files.empty()) {
    auto key = crypto::parse_master_key_hex(env_key);
    if (!key.ok()) return key.status();
    out.keys.push_back(std::move(*key));
  }
  for (const auto& file : config.key_files) {
    auto key = crypto::load_key_file(file);
    if (!key.ok()) return key.status();
    out.keys.push_back(std::move(*key));
  }
  // The ring gets copies: the key manager keeps the originals to rebuild rings on rotation.
  std::vector<crypto::MasterKey> ring_keys;
  for (const auto& key : out.keys) {
    const auto& bytes = key.bytes();
    auto copy =
        crypto::MasterKey::from_bytes(std::span<const unsigned char>(bytes.data(), bytes.size()));
    if (!copy.ok()) return copy.status();
    ring_keys.push_back(std::move(*copy));
  }
  crypto::KeyId active = out.keys.front().id();
  auto ring = crypto::KeyRing::create(std::move(ring_keys), active);
  if (!ring.ok()) return ring.status();
  log_info(absl::StrCat("encryption at rest on, active master key id ",
                        crypto::format_key_id(active), ", ", out.keys.size(),
                        " key(s) in the ring"));
  auto aead = std::make_unique<crypto::AeadRecordSealer>(std::move(*ring));
  out.aead = aead.get();
  out.sealer = std::move(aead);
  return out;
}

}  // namespace meridian::node
