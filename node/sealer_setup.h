// Chooses how the node seals what it stores: AEAD under the master key from --key-file or
// $MERIDIAN_MASTER_KEY, or plaintext framing when --insecure-no-encryption was given.
// Without either, the node must refuse to start.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "crypto/record_sealer.h"
#include "node/daemon_config.h"

namespace meridian::node {

// FailedPrecondition when no key is configured and insecure mode was not asked for.
absl::StatusOr<std::unique_ptr<crypto::RecordSealer>> make_record_sealer(
    const DaemonConfig& config);

}  // namespace meridian::node
