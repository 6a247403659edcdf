// Reads the peer TLS PEM files named in the config; see peer_tls_setup.h.
#include "node/peer_tls_setup.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace meridian::node {
namespace {

// A PEM file is a few kilobytes; anything much bigger is the wrong file.
constexpr std::streamsize kMaxPemBytes = 1 << 20;

absl::StatusOr<std::string> read_pem(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (static_cast<std::streamsize>(pem.size()) > kMaxPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is not a PEM file"));
  }
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " holds no PEM block (-----BEGIN ...)"));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::unique_ptr<replication::PeerTls>> make_peer_tls(const DaemonConfig& config) {
  if (config.peer_tls_cert.empty() && config.peer_tls_key.empty() && config.peer_tls_ca.empty()) {
    return nullptr;
  }
  auto cert = read_pem("peer-tls-cert", config.peer_tls_cert);
  if (!cert.ok()) return cert.status();
  auto key = read_pem("peer-tls-key", config.peer_tls_key);
  if (!key.ok()) return key.status();
  auto ca = read_pem("peer-tls-ca", config.peer_tls_ca);
  if (!ca.ok()) return ca.status();
  return replication::PeerTls::create(*cert, *key, *ca);
}

}  // namespace meridian::node
