// Builds the peer port's mutual TLS (replication::PeerTls) from the --peer-tls-* files, or
// nothing when they are not given (plaintext peer traffic).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "node/daemon_config.h"
#include "replication/peer_tls.h"

namespace meridian::node {

// Null when no peer-tls-* setting is given. InvalidArgument naming the file when one cannot be
// read or parsed. (parse_daemon_args already refused a partial set.)
absl::StatusOr<std::unique_ptr<replication::PeerTls>> make_peer_tls(const DaemonConfig& config);

}  // namespace meridian::node
