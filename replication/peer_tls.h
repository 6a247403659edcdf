// Mutual TLS for peer connections (gossip and replication): one kj::TlsContext holding this
// node's certificate and key and trusting only the cluster's CA, which wraps dialled streams as
// a client and accepted streams as a server. Both sides present certificates and both verify.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/tls.h>
#include <kj/timer.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace meridian::replication {

// Peers are dialled by address (often through a proxy), so no hostname identifies them: every
// node certificate carries this name (subjectAltName DNS), and a dialler expects it. Trust thus
// rests on the CA alone: any certificate the cluster CA signed for this name is a peer.
inline constexpr char kPeerTlsServerName[] = "meridian-peer";

class PeerTls {
 public:
  // From PEM text: this node's certificate (its chain, leaf first), its private key (unencrypted)
  // and the CA certificate that signs every node's certificate. InvalidArgument naming the part
  // that does not parse. The system trust store is never used.
  static absl::StatusOr<std::unique_ptr<PeerTls>> create(const std::string& cert_pem,
                                                         const std::string& key_pem,
                                                         const std::string& ca_pem);
  PeerTls(const PeerTls&) = delete;
  PeerTls& operator=(const PeerTls&) = delete;

  // Handshakes as the client over `stream` (a connected peer): resolves to the encrypted stream
  // once the peer's certificate is verified against the CA and kPeerTlsServerName; rejects
  // otherwise.
  kj::Promise<kj::Own<kj::AsyncIoStream>> wrap_client(kj::Own<kj::AsyncIoStream> stream);
  // Handshakes as the server over an accepted `stream`: a client that presents no certificate,
  // or one the CA did not sign, is refused (the promise rejects).
  kj::Promise<kj::Own<kj::AsyncIoStream>> wrap_server(kj::Own<kj::AsyncIoStream> stream);

  // Handshakes with itself over an in-memory pipe, so that a certificate that does not match its
  // key, is not signed by the CA, has expired or lacks kPeerTlsServerName is found at start-up
  // rather than on the first peer. Resolves, or rejects with OpenSSL's reason. `io` provides the
  // pipe; `timer` bounds the wait.
  kj::Promise<void> self_check(kj::AsyncIoProvider& io, kj::Timer& timer);

 private:
  PeerTls(kj::TlsKeypair keypair, kj::TlsCertificate ca);

  kj::TlsKeypair keypair_;
  kj::TlsCertificate ca_;
  kj::Own<kj::TlsContext> context_;  // refers to keypair_ and ca_: declared after them
};

}  // namespace meridian::replication
