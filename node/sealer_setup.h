// Chooses how the node seals what it stores: AEAD under the master key from --key-file or
// $MERIDIAN_MASTER_KEY, or plaintext framing when --insecure-no-encryption was given.
// Without either, the node must refuse to start.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "crypto/aead_record_sealer.h"
#include "crypto/master_key.h"
#include "crypto/record_sealer.h"
#include "node/daemon_config.h"

namespace meridian::node {

struct AtRestSealing {
  std::unique_ptr<crypto::RecordSealer> sealer;
  crypto::AeadRecordSealer* aead = nullptr;  // `sealer` when encrypting, else null
  std::vector<crypto::MasterKey> keys;       // active first; empty when not encrypting
};

// FailedPrecondition when no key is configured and insecure mode was not asked for.
absl::StatusOr<AtRestSealing> make_record_sealer(const DaemonConfig& config);

}  // namespace meridian::node
