// Mutual TLS on the peer port with real processes (tests/support/cluster_process.h): TLS nodes
// replicate through the chaos proxy; a node whose certificate another CA signed, or a node
// without TLS, is refused (logged, counted) and neither side's data reaches the other; bad
// certificate settings stop the daemon at start. Certificates are minted at test time by
// deploy/local/make-certs.sh (openssl) into a temporary directory; the tests skip without openssl.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "tests/support/cluster_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::DaemonProcess;
using testing::LocalCluster;
using testing::LocalClusterOptions;
using testing::TempDir;
using testing::wait_until;
using testing::with_client;
using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

bool have_openssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

// Mints a CA in `dir` (or reuses the one there) and a certificate for each of `names`.
void make_certs(const std::filesystem::path& dir, const std::vector<std::string>& names) {
  std::string command =
      absl::StrCat(testing::source_path("deploy/local/make-certs.sh").string(), " ", dir.string());
  for (const auto& n : names) absl::StrAppend(&command, " ", n);
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::vector<std::string> tls_args(const std::filesystem::path& dir, const std::string& name) {
  return {"--peer-tls-cert", (dir / (name + ".crt")).string(),
          "--peer-tls-key",  (dir / (name + ".key")).string(),
          "--peer-tls-ca",   (dir / "ca.crt").string()};
}

std::vector<PointData> points(uint64_t first, uint64_t n) {
  std::vector<PointData> out;
  for (uint64_t id = first; id < first + n; ++id) {
    out.push_back({PointId::number(id), {static_cast<float>(id), 1.0f}, "{}"});
  }
  return out;
}

// Creates `name` on node `i` and writes `n` points into it.
void create_and_fill(LocalCluster& cluster, size_t i, const std::string& name, uint64_t n) {
  auto done = with_client(cluster.node(i).client_address, [&](Client& c) -> absl::Status {
    auto created = c.create_collection({name, 2, Metric::kL2, IndexKind::kFlat});
    if (!created.ok()) return created.status();
    return c.upsert(name, points(1, n)).status();
  });
  ASSERT_TRUE(done.ok()) << done;
}

// How many points node `i` holds of `name` (an error when it does not serve it).
absl::StatusOr<uint64_t> count_on(LocalCluster& cluster, size_t i, const std::string& name) {
  return with_client(cluster.node(i).client_address, [&](Client& c) { return c.count(name); });
}

absl::StatusOr<client::NodeStatus> status_of(LocalCluster& cluster, size_t i) {
  return with_client(cluster.node(i).client_address, [](Client& c) { return c.status(); });
}

// Waits until node `i` has refused at least `n` peer connections at the TLS handshake.
bool wait_refusals(LocalCluster& cluster, size_t i, uint64_t n) {
  return wait_until(
      [&] {
        auto s = status_of(cluster, i);
        return s.ok() && s->tls_refused >= n;
      },
      kDeadline);
}

bool knows_region(LocalCluster& cluster, size_t i, const std::string& region) {
  auto s = status_of(cluster, i);
  if (!s.ok()) return false;
  for (const auto& m : s->members) {
    if (m.region == region) return true;
  }
  return false;
}

TEST(PeerTlsTest, TlsNodesReplicateAndReportTls) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl command to mint certificates";
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_certs(dir.path() / "certs", {"a-1", "b-1"}));
  LocalClusterOptions options;
  options.regions = {"a", "b"};
  options.node_args = {tls_args(dir.path() / "certs", "a-1"),
                       tls_args(dir.path() / "certs", "b-1")};
  auto cluster = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  LocalCluster& c = **cluster;
  ASSERT_NO_FATAL_FAILURE(create_and_fill(c, 0, "docs", 50));
  auto converged = testing::wait_converged(c, "docs", 50, kDeadline);
  ASSERT_TRUE(converged.ok()) << converged.status() << "\n" << c.logs_tail();
  for (size_t i : {0u, 1u}) {
    auto s = status_of(c, i);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE(s->peer_tls);
    EXPECT_EQ(s->tls_refused, 0u) << c.logs_tail();
    EXPECT_THAT(c.node_log(i), ::testing::HasSubstr("peer port: mutual TLS"));
    EXPECT_THAT(c.node_log(i), ::testing::Not(::testing::HasSubstr("PEER PORT IS PLAINTEXT")));
  }
}

TEST(PeerTlsTest, NodeWithACertificateFromAnotherCaCannotJoin) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl command to mint certificates";
  TempDir dir;
  const auto ours = dir.path() / "certs", theirs = dir.path() / "other-ca";
  ASSERT_NO_FATAL_FAILURE(make_certs(ours, {"a-1", "b-1"}));
  // A valid certificate with the right peer name, from a CA our nodes do not trust; the node
  // trusts its own CA, so its self-check at start passes.
  ASSERT_NO_FATAL_FAILURE(make_certs(theirs, {"c-1"}));
  LocalClusterOptions options;
  options.regions = {"a", "b", "c"};
  options.node_args = {tls_args(ours, "a-1"), tls_args(ours, "b-1"), tls_args(theirs, "c-1")};
  auto cluster = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  LocalCluster& c = **cluster;
  ASSERT_NO_FATAL_FAILURE(create_and_fill(c, 0, "ours", 20));
  ASSERT_NO_FATAL_FAILURE(create_and_fill(c, 2, "theirs", 20));
  // a and b (same CA) replicate.
  ASSERT_TRUE(wait_until(
      [&] {
        auto n = count_on(c, 1, "ours");
        return n.ok() && *n == 20;
      },
      kDeadline))
      << c.logs_tail();
  // c seeds from a: a refuses it again and again (gossip every half second), and logs it.
  ASSERT_TRUE(wait_refusals(c, 0, 3)) << c.logs_tail();
  EXPECT_THAT(c.node_log(0), ::testing::HasSubstr("refused at the TLS handshake")) << c.logs_tail();
  // After those refused rounds nothing crossed either way.
  for (size_t i : {0u, 1u}) {
    EXPECT_FALSE(count_on(c, i, "theirs").ok()) << c.node(i).name << " got c's collection";
    EXPECT_FALSE(knows_region(c, i, "c")) << c.node(i).name << " learned of region c";
  }
  EXPECT_FALSE(count_on(c, 2, "ours").ok()) << "c got a's collection";
  EXPECT_FALSE(knows_region(c, 2, "a"));
  // The refused node's own certificate is fine; only its CA is foreign.
  EXPECT_THAT(c.node_log(2), ::testing::HasSubstr("peer port: mutual TLS"));
}

TEST(PeerTlsTest, PlaintextNodeCannotTalkToATlsNode) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl command to mint certificates";
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_certs(dir.path() / "certs", {"a-1"}));
  LocalClusterOptions options;
  options.regions = {"a", "b"};
  options.node_args = {tls_args(dir.path() / "certs", "a-1"), {}};
  auto cluster = LocalCluster::start(dir.path(), options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  LocalCluster& c = **cluster;
  EXPECT_THAT(c.node_log(1), ::testing::HasSubstr("PEER PORT IS PLAINTEXT"));
  ASSERT_NO_FATAL_FAILURE(create_and_fill(c, 0, "secure", 10));
  ASSERT_NO_FATAL_FAILURE(create_and_fill(c, 1, "plain", 10));
  // b dials a in plaintext: a's handshake fails on b's first bytes.
  ASSERT_TRUE(wait_refusals(c, 0, 3)) << c.logs_tail();
  EXPECT_FALSE(count_on(c, 0, "plain").ok());
  EXPECT_FALSE(count_on(c, 1, "secure").ok());
  EXPECT_FALSE(knows_region(c, 0, "b"));
  EXPECT_FALSE(knows_region(c, 1, "a"));
  auto plain = status_of(c, 1);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->peer_tls);
}

// Starts a clustered meridiand with `extra` flags and returns its exit status and log.
std::pair<int, std::string> start_and_exit(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "--data-dir",  (dir.path() / "data").string(), "--listen", "127.0.0.1:0", "--peer-listen",
      "127.0.0.1:0", "--insecure-no-encryption"};
  args.insert(args.end(), extra.begin(), extra.end());
  DaemonProcess process(args, dir.path() / "node.log");
  auto exit = process.wait_exit(kDeadline);
  if (!exit.has_value()) return {-1, process.log()};
  return {WIFEXITED(*exit) ? WEXITSTATUS(*exit) : -1, process.log()};
}

TEST(PeerTlsTest, BadCertificateSettingsStopTheDaemonAtStart) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl command to mint certificates";
  TempDir dir;
  const auto ours = dir.path() / "certs", theirs = dir.path() / "other-ca";
  ASSERT_NO_FATAL_FAILURE(make_certs(ours, {"n"}));
  ASSERT_NO_FATAL_FAILURE(make_certs(theirs, {"m"}));
  {
    // Two of the three settings: a usage error.
    auto [code, log] = start_and_exit(dir, {"--peer-tls-cert", (ours / "n.crt").string(),
                                            "--peer-tls-key", (ours / "n.key").string()});
    EXPECT_EQ(code, 2) << log;
    EXPECT_THAT(log, ::testing::HasSubstr("all three"));
  }
  {
    auto args = tls_args(ours, "n");
    args[1] = (dir.path() / "missing.crt").string();
    auto [code, log] = start_and_exit(dir, args);
    EXPECT_EQ(code, 1) << log;
    EXPECT_THAT(log, ::testing::HasSubstr("--peer-tls-cert: cannot read"));
  }
  {
    // A key file that holds a certificate.
    auto args = tls_args(ours, "n");
    args[3] = (ours / "n.crt").string();
    auto [code, log] = start_and_exit(dir, args);
    EXPECT_EQ(code, 1) << log;
    EXPECT_THAT(log, ::testing::HasSubstr("peer TLS"));
  }
  {
    // Another CA's certificate and key, with our CA: the start-up self-check refuses it.
    auto args = tls_args(theirs, "m");
    args[5] = (ours / "ca.crt").string();
    auto [code, log] = start_and_exit(dir, args);
    EXPECT_EQ(code, 1) << log;
    EXPECT_THAT(log, ::testing::HasSubstr("do not work together"));
  }
  {
    // A key that is not the certificate's.
    auto args = tls_args(ours, "n");
    args[3] = (theirs / "m.key").string();
    auto [code, log] = start_and_exit(dir, args);
    EXPECT_EQ(code, 1) << log;
    EXPECT_THAT(log, ::testing::HasSubstr("peer TLS"));
  }
}

}  // namespace
}  // namespace meridian
