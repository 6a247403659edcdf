// PeerTls: the kj::TlsContext of the peer port and its start-up self-check; see peer_tls.h.
#include "replication/peer_tls.h"

#include <kj/debug.h>
#include <kj/vector.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace meridian::replication {
namespace {

// A handshake that has not finished by then is a misconfiguration, not a slow link.
constexpr kj::Duration kSelfCheckTimeout = 10 * kj::SECONDS;

// Runs `parse` (a kj TLS constructor, which throws on bad input) and names `what` on failure.
template <typename T, typename Parse>
absl::StatusOr<T> parse_pem(const char* what, Parse&& parse) {
  kj::Maybe<T> parsed;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] { parsed = parse(); })) {
    return absl::InvalidArgumentError(absl::StrCat("peer TLS: cannot parse the ", what, ": ",
                                                   exception->getDescription().cStr()));
  }
  KJ_IF_MAYBE (value, parsed) {
    return kj::mv(*value);
  }
  return absl::InvalidArgumentError(absl::StrCat("peer TLS: cannot parse the ", what));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PeerTls>> PeerTls::create(const std::string& cert_pem,
                                                         const std::string& key_pem,
                                                         const std::string& ca_pem) {
  // kj parses an empty buffer as "no certificate" in places; say so plainly instead.
  if (cert_pem.empty()) return absl::InvalidArgumentError("peer TLS: the certificate is empty");
  if (key_pem.empty()) return absl::InvalidArgumentError("peer TLS: the private key is empty");
  if (ca_pem.empty()) return absl::InvalidArgumentError("peer TLS: the CA certificate is empty");
  auto cert = parse_pem<kj::TlsCertificate>(
      "certificate", [&] { return kj::TlsCertificate(kj::StringPtr(cert_pem.c_str())); });
  if (!cert.ok()) return cert.status();
  auto key = parse_pem<kj::TlsPrivateKey>(
      "private key", [&] { return kj::TlsPrivateKey(kj::StringPtr(key_pem.c_str())); });
  if (!key.ok()) return key.status();
  auto ca = parse_pem<kj::TlsCertificate>(
      "CA certificate", [&] { return kj::TlsCertificate(kj::StringPtr(ca_pem.c_str())); });
  if (!ca.ok()) return ca.status();
  std::unique_ptr<PeerTls> tls(
      new PeerTls(kj::TlsKeypair{*std::move(key), *std::move(cert)}, *std::move(ca)));
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 kj::TlsContext::Options options;
                 // Only the cluster's CA: a certificate from a public CA is no peer of ours.
                 options.useSystemTrustStore = false;
                 options.trustedCertificates = kj::arrayPtr(&tls->ca_, 1);
                 options.verifyClients = true;
                 // 0.9.2 cannot ask for TLS 1.3 as the floor (its TlsVersion stops at 1.2);
                 // OpenSSL 3 on both sides negotiates 1.3. See docs/security.md.
                 options.minVersion = kj::TlsVersion::TLS_1_2;
                 options.defaultKeypair = tls->keypair_;
                 tls->context_ = kj::heap<kj::TlsContext>(kj::mv(options));
               })) {
    return absl::InvalidArgumentError(absl::StrCat("peer TLS: cannot use the certificate and key: ",
                                                   exception->getDescription().cStr()));
  }
  return tls;
}

PeerTls::PeerTls(kj::TlsKeypair keypair, kj::TlsCertificate ca)
    : keypair_(kj::mv(keypair)), ca_(kj::mv(ca)) {}

kj::Promise<kj::Own<kj::AsyncIoStream>> PeerTls::wrap_client(kj::Own<kj::AsyncIoStream> stream) {
  return context_->wrapClient(kj::mv(stream), kPeerTlsServerName);
}

kj::Promise<kj::Own<kj::AsyncIoStream>> PeerTls::wrap_server(kj::Own<kj::AsyncIoStream> stream) {
  return context_->wrapServer(kj::mv(stream));
}

kj::Promise<void> PeerTls::self_check(kj::AsyncIoProvider& io, kj::Timer& timer) {
  auto pipe = io.newTwoWayPipe();
  auto server = wrap_server(kj::mv(pipe.ends[0]));
  auto client = wrap_client(kj::mv(pipe.ends[1]));
  // In TLS 1.3 the client finishes before the server has checked the client's certificate:
  // wait for both sides, so that a client certificate the server refuses fails the check too.
  // The client then reads once: the server's refusal arrives as an alert, its acceptance as
  // the byte it writes.
  auto server_done = server.then([](kj::Own<kj::AsyncIoStream>&& s) {
    auto write = s->write("k", 1);
    return write.attach(kj::mv(s));
  });
  auto client_done = client.then([](kj::Own<kj::AsyncIoStream>&& s) {
    auto buffer = kj::heapArray<kj::byte>(1);
    auto read = s->read(buffer.begin(), 1);
    return read.attach(kj::mv(s), kj::mv(buffer));
  });
  kj::Vector<kj::Promise<void>> both;
  both.add(kj::mv(server_done));
  both.add(kj::mv(client_done));
  return kj::joinPromises(both.releaseAsArray())
      .exclusiveJoin(timer.afterDelay(kSelfCheckTimeout).then([]() -> kj::Promise<void> {
        return KJ_EXCEPTION(FAILED, "TLS handshake with itself timed out");
      }));
}

}  // namespace meridian::replication
