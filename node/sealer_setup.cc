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

absl::StatusOr<std::unique_ptr<crypto::RecordSealer>> make_record_sealer(
    const DaemonConfig& config) {
  const char* env_key = std::getenv(crypto::kMasterKeyEnvVar);
  bool has_key = !config.key_file.empty() || (env_key != nullptr && *env_key != '\0');
  if (config.insecure_no_encryption) {
    if (has_key) {
      return absl::InvalidArgumentError(
          "both a master key and --insecure-no-encryption were given; choose one");
    }
    log_warning(
        "ENCRYPTION AT REST IS OFF (--insecure-no-encryption): vectors and payloads are stored "
        "in the clear. Use this for tests and demos only.");
    return std::make_unique<crypto::PlaintextRecordSealer>();
  }
  if (!has_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("no master key: pass --key-file FILE (create one with `meridian keygen --out "
                     "FILE`), set $",
                     crypto::kMasterKeyEnvVar,
                     ", or start with --insecure-no-encryption to store data unencrypted"));
  }
  absl::StatusOr<crypto::MasterKey> key = !config.key_file.empty()
                                              ? crypto::load_key_file(config.key_file)
                                              : crypto::parse_master_key_hex(env_key);
  if (!key.ok()) return key.status();
  crypto::KeyId id = key->id();
  auto ring = crypto::KeyRing::create(std::move(*key));
  if (!ring.ok()) return ring.status();
  log_info(absl::StrCat("encryption at rest on, master key id ", crypto::format_key_id(id)));
  return std::make_unique<crypto::AeadRecordSealer>(std::move(*ring));
}

}  // namespace meridian::node
