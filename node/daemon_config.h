// meridiand's settings: parsed from an optional config file (`key = value` lines, '#'
// comments) and then from command-line flags, which win.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/gpu_mode.h"

namespace meridian::node {

struct DaemonConfig {
  std::string data_dir = ".meridian/data";
  std::string listen = "127.0.0.1:7600";
  // Master key files, active key first; the others still open values sealed under them
  // (key rotation). Empty: the key comes from $MERIDIAN_MASTER_KEY.
  std::vector<std::string> key_files;
  bool insecure_no_encryption = false;
  // Cluster: the region this node serves, its peer (replication) port, where to find the
  // cluster (peer addresses of other nodes), and dial rewrites FROM -> TO (a fault-injecting
  // proxy in front of a remote node). Without --peer-listen the node runs alone.
  std::string region = "local";
  std::string peer_listen;
  std::vector<std::string> seeds;
  std::map<std::string, std::string> dial_via;
  // Batched exact searches on the GPU: auto (when one is usable), on (required), off.
  GpuMode gpu = GpuMode::kAuto;
  // Mutual TLS on the peer port: this node's certificate chain and private key, and the CA that
  // signs every node's certificate (PEM files). All three or none; none: plaintext peer traffic.
  std::string peer_tls_cert;
  std::string peer_tls_key;
  std::string peer_tls_ca;
  bool show_help = false;
};

// Parses argv (without argv[0]). InvalidArgument with a message for unknown flags,
// missing values, an unreadable or malformed config file, or some but not all of the
// peer-tls-* settings.
absl::StatusOr<DaemonConfig> parse_daemon_args(const std::vector<std::string>& args);

// Usage text for --help.
const char* daemon_usage();

}  // namespace meridian::node
