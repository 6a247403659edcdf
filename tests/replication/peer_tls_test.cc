// Tests of replication/peer_tls.h over in-memory pipes and of a TLS ReplicationEndpoint over
// loopback TCP: both sides must present a certificate the cluster CA signed; a refused client
// costs the endpoint nothing but a log line (its accept loop goes on). Certificates are minted at
// test time by deploy/local/make-certs.sh; the tests skip without the openssl command.
#include "replication/peer_tls.h"

#include <kj/async-io.h>
#include <kj/vector.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "replication/rpc_endpoint.h"
#include "tests/support/test_support.h"

namespace meridian::replication {
namespace {

using testing::TempDir;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct NodeCert {
  std::string cert, key, ca;
};

class PeerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("openssl version >/dev/null 2>&1") != 0) return;
    dir_ = std::make_unique<TempDir>();
    const std::string script = ::meridian::testing::source_path("deploy/local/make-certs.sh");
    for (const char* ca : {"ours", "theirs"}) {
      std::string command = absl::StrCat(script, " ", (dir_->path() / ca).string(), " n1 n2");
      if (std::system(command.c_str()) != 0) return;
    }
    ready_ = true;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "no openssl command to mint certificates";
  }

  static NodeCert cert(const std::string& ca, const std::string& node) {
    const auto d = dir_->path() / ca;
    return {read_file(d / (node + ".crt")), read_file(d / (node + ".key")),
            read_file(d / "ca.crt")};
  }
  static std::unique_ptr<PeerTls> make(const NodeCert& c) {
    auto tls = PeerTls::create(c.cert, c.key, c.ca);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *std::move(tls) : nullptr;
  }

  // Handshakes `client` with `server` over a pipe and exchanges one byte each way; an error
  // describes the side that failed first.
  static absl::Status handshake(kj::AsyncIoContext& io, PeerTls& client, PeerTls& server) {
    auto pipe = io.provider->newTwoWayPipe();
    auto s = server.wrap_server(kj::mv(pipe.ends[0])).then([](kj::Own<kj::AsyncIoStream>&& st) {
      auto buffer = kj::heapArray<kj::byte>(1);
      auto p = st->read(buffer.begin(), 1).then([&st = *st]() { return st.write("s", 1); });
      return p.attach(kj::mv(st), kj::mv(buffer));
    });
    auto c = client.wrap_client(kj::mv(pipe.ends[1])).then([](kj::Own<kj::AsyncIoStream>&& st) {
      auto buffer = kj::heapArray<kj::byte>(1);
      auto p = st->write("c", 1).then([&st = *st, b = buffer.begin()]() { return st.read(b, 1); });
      return p.attach(kj::mv(st), kj::mv(buffer));
    });
    kj::Vector<kj::Promise<void>> both;
    both.add(kj::mv(s));
    both.add(kj::mv(c));
    absl::Status out;
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                   kj::joinPromises(both.releaseAsArray())
                       .exclusiveJoin(io.provider->getTimer()
                                          .afterDelay(10 * kj::SECONDS)
                                          .then([]() -> kj::Promise<void> {
                                            return KJ_EXCEPTION(FAILED, "handshake timed out");
                                          }))
                       .wait(io.waitScope);
                 })) {
      out = absl::UnavailableError(e->getDescription().cStr());
    }
    return out;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline bool ready_ = false;
};

TEST_F(PeerTlsTest, NodesOfOneCaTalk) {
  auto io = kj::setupAsyncIo();
  auto n1 = make(cert("ours", "n1")), n2 = make(cert("ours", "n2"));
  ASSERT_TRUE(n1 && n2);
  MERIDIAN_EXPECT_OK(handshake(io, *n1, *n2));
  MERIDIAN_EXPECT_OK(handshake(io, *n2, *n1));
}

TEST_F(PeerTlsTest, EitherSideFromAnotherCaIsRefused) {
  auto io = kj::setupAsyncIo();
  auto ours = make(cert("ours", "n1")), theirs = make(cert("theirs", "n2"));
  ASSERT_TRUE(ours && theirs);
  // Their client, our server: our server refuses the client certificate.
  EXPECT_FALSE(handshake(io, *theirs, *ours).ok());
  // Our client, their server: our client refuses the server certificate.
  EXPECT_FALSE(handshake(io, *ours, *theirs).ok());
}

TEST_F(PeerTlsTest, ClientWithoutACertificateIsRefused) {
  auto io = kj::setupAsyncIo();
  auto server = make(cert("ours", "n1"));
  ASSERT_TRUE(server);
  // A client that trusts our CA but presents nothing (kj's plain client context).
  kj::TlsCertificate ca(kj::StringPtr(cert("ours", "n1").ca.c_str()));
  kj::TlsContext::Options options;
  options.useSystemTrustStore = false;
  options.trustedCertificates = kj::arrayPtr(&ca, 1);
  kj::TlsContext anonymous(kj::mv(options));
  auto pipe = io.provider->newTwoWayPipe();
  auto accepted = server->wrap_server(kj::mv(pipe.ends[0]));
  auto connected = anonymous.wrapClient(kj::mv(pipe.ends[1]), kPeerTlsServerName)
                       .then([](kj::Own<kj::AsyncIoStream>&& st) {
                         auto buffer = kj::heapArray<kj::byte>(1);
                         auto p = st->write("c", 1).then(
                             [&st = *st, b = buffer.begin()]() { return st.read(b, 1); });
                         return p.attach(kj::mv(st), kj::mv(buffer));
                       });
  auto refused = accepted.then([](kj::Own<kj::AsyncIoStream>&&) { return false; },
                               [](kj::Exception&&) { return true; });
  EXPECT_TRUE(refused.wait(io.waitScope));
}

TEST_F(PeerTlsTest, SelfCheckFindsAForeignCaAndAWrongKey) {
  auto io = kj::setupAsyncIo();
  auto good = make(cert("ours", "n1"));
  ASSERT_TRUE(good);
  EXPECT_NO_THROW(good->self_check(*io.provider, io.provider->getTimer()).wait(io.waitScope));
  NodeCert foreign = cert("theirs", "n1");
  foreign.ca = cert("ours", "n1").ca;
  auto bad_ca = make(foreign);
  ASSERT_TRUE(bad_ca);
  EXPECT_ANY_THROW(bad_ca->self_check(*io.provider, io.provider->getTimer()).wait(io.waitScope));
  NodeCert wrong_key = cert("ours", "n1");
  wrong_key.key = cert("ours", "n2").key;
  auto mismatched = PeerTls::create(wrong_key.cert, wrong_key.key, wrong_key.ca);
  // Either refused at once or by the self-check: never a working context.
  if (mismatched.ok()) {
    EXPECT_ANY_THROW(
        (*mismatched)->self_check(*io.provider, io.provider->getTimer()).wait(io.waitScope));
  }
}

TEST_F(PeerTlsTest, UnparsablePemIsInvalidArgument) {
  NodeCert c = cert("ours", "n1");
  MERIDIAN_EXPECT_CODE(PeerTls::create("", c.key, c.ca), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(PeerTls::create(c.cert, "-----BEGIN PRIVATE KEY-----\nAAAA\n", c.ca),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(PeerTls::create(c.cert, c.key, "not a certificate"),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(PeerTls::create(c.key, c.key, c.ca), absl::StatusCode::kInvalidArgument);
}

// The dialler of a test that dials nothing.
class NoDialer final : public PeerDialer {
 public:
  kj::Promise<kj::Own<kj::AsyncIoStream>> dial(crdt::ReplicaId) override {
    return KJ_EXCEPTION(DISCONNECTED, "no peers in this test");
  }
};

TEST_F(PeerTlsTest, EndpointRefusesPlaintextAndForeignClientsAndKeepsAccepting) {
  auto io = kj::setupAsyncIo();
  auto ours = make(cert("ours", "n1")), client = make(cert("ours", "n2")),
       theirs = make(cert("theirs", "n2"));
  ASSERT_TRUE(ours && client && theirs);
  NoDialer dialer;
  ReplicationEndpoint endpoint(io.provider->getTimer(), dialer, RpcLimits{}, ours.get());
  std::vector<std::string> refusals;
  endpoint.set_refusal_handler([&](const std::string& reason) { refusals.push_back(reason); });
  auto& network = io.provider->getNetwork();
  endpoint.listen(network.parseAddress("127.0.0.1:0").wait(io.waitScope)->listen());
  const std::string address = absl::StrCat("127.0.0.1:", endpoint.port());
  auto connect = [&]() {
    return network.parseAddress(address).wait(io.waitScope)->connect().wait(io.waitScope);
  };
  auto wait_for = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope);
    }
    return done();
  };
  // A plaintext client's bytes are no TLS handshake.
  auto plain = connect();
  plain->write("\0\0\0\0\0\0\0\0", 8).wait(io.waitScope);
  ASSERT_TRUE(wait_for([&] { return endpoint.metrics().tls_refused == 1; }));
  // A client from another CA completes its side (TLS 1.3) but the server refuses it.
  auto foreign = theirs->wrap_client(connect());
  ASSERT_TRUE(wait_for([&] { return endpoint.metrics().tls_refused == 2; }));
  ASSERT_EQ(refusals.size(), 2u);
  EXPECT_NE(refusals[0].find("refused at the TLS handshake"), std::string::npos) << refusals[0];
  // A client that hangs up before finishing its handshake gave up; it was not refused.
  { auto quitter = connect(); }
  ASSERT_TRUE(wait_for([&] { return endpoint.metrics().tls_abandoned == 1; }));
  // The accept loop goes on: a good client is accepted and waits for a session.
  auto good = client->wrap_client(connect()).wait(io.waitScope);
  ASSERT_TRUE(wait_for([&] { return endpoint.metrics().pending_connections == 1; }));
  EXPECT_EQ(endpoint.metrics().accepted, 4u);
  EXPECT_EQ(endpoint.metrics().tls_refused, 2u);
  EXPECT_EQ(refusals.size(), 2u);
}

}  // namespace
}  // namespace meridian::replication
