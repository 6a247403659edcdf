// Tests of meridiand's settings: config file, flags overriding it, and clear errors.
#include "node/daemon_config.h"

#include <fstream>

#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

TEST(DaemonConfigTest, FlagsOverrideConfigFileWhereverItAppears) {
  meridian::testing::TempDir dir;
  auto path = (dir.path() / "meridian.conf").string();
  std::ofstream(path) << "# comment\ndata-dir = /from/file\nlisten = 0.0.0.0:1\n"
                         "insecure-no-encryption = true\n";
  auto c = parse_daemon_args({"--listen", "127.0.0.1:9", "--config", path});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/from/file");
  EXPECT_EQ(c->listen, "127.0.0.1:9");
  EXPECT_TRUE(c->insecure_no_encryption);
  auto eq = parse_daemon_args({"--data-dir=/x"});
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ(eq->data_dir, "/x");
}

TEST(DaemonConfigTest, KeyFilesRepeatAndFlagsReplaceTheConfigFilesList) {
  meridian::testing::TempDir dir;
  auto path = (dir.path() / "meridian.conf").string();
  std::ofstream(path) << "key-file = /keys/a\nkey-file = /keys/b\n";
  auto from_file = parse_daemon_args({"--config", path});
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->key_files, (std::vector<std::string>{"/keys/a", "/keys/b"}));
  auto flags = parse_daemon_args({"--config", path, "--key-file", "/new", "--key-file=/keys/a"});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->key_files, (std::vector<std::string>{"/new", "/keys/a"}));
}

TEST(DaemonConfigTest, ClusterSettings) {
  meridian::testing::TempDir dir;
  auto path = (dir.path() / "meridian.conf").string();
  std::ofstream(path) << "region = eu-west\npeer-listen = 127.0.0.1:7601\n"
                         "seeds = 127.0.0.1:7611, 127.0.0.1:7621\n";
  auto config = parse_daemon_args({"--config", path, "--seeds", "127.0.0.1:7631", "--dial-via",
                                   "127.0.0.1:7611=127.0.0.1:9000"});
  MERIDIAN_ASSERT_OK(config.status());
  EXPECT_EQ(config->region, "eu-west");
  EXPECT_EQ(config->peer_listen, "127.0.0.1:7601");
  EXPECT_EQ(config->seeds,
            (std::vector<std::string>{"127.0.0.1:7611", "127.0.0.1:7621", "127.0.0.1:7631"}));
  EXPECT_EQ(config->dial_via.at("127.0.0.1:7611"), "127.0.0.1:9000");
  EXPECT_EQ(parse_daemon_args({})->region, "local");
  EXPECT_TRUE(parse_daemon_args({})->peer_listen.empty());
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--region", "eu west"}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--region", ""}), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--dial-via", "127.0.0.1:1"}),
                       absl::StatusCode::kInvalidArgument);
}

TEST(DaemonConfigTest, PeerTlsNeedsAllThreeFilesOrNone) {
  meridian::testing::TempDir dir;
  auto path = (dir.path() / "meridian.conf").string();
  std::ofstream(path) << "peer-tls-cert = /certs/n.crt\npeer-tls-key = /certs/n.key\n";
  auto all = parse_daemon_args({"--config", path, "--peer-tls-ca", "/certs/ca.crt"});
  MERIDIAN_ASSERT_OK(all.status());
  EXPECT_EQ(all->peer_tls_cert, "/certs/n.crt");
  EXPECT_EQ(all->peer_tls_key, "/certs/n.key");
  EXPECT_EQ(all->peer_tls_ca, "/certs/ca.crt");
  auto none = parse_daemon_args({});
  MERIDIAN_ASSERT_OK(none.status());
  EXPECT_TRUE(none->peer_tls_cert.empty() && none->peer_tls_key.empty() &&
              none->peer_tls_ca.empty());
  auto two = parse_daemon_args({"--config", path});
  MERIDIAN_EXPECT_CODE(two, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(two.status().message()), ::testing::HasSubstr("all three"));
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--peer-tls-ca", "/certs/ca.crt"}),
                       absl::StatusCode::kInvalidArgument);
}

TEST(DaemonConfigTest, ErrorsAreClear) {
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--bogus", "1"}), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--listen"}), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"stray"}), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_daemon_args({"--config", "/nonexistent/file"}),
                       absl::StatusCode::kInvalidArgument);
  meridian::testing::TempDir dir;
  auto path = (dir.path() / "bad.conf").string();
  std::ofstream(path) << "listen 1.2.3.4\n";
  auto bad = parse_daemon_args({"--config", path});
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("bad.conf:1"));
}

}  // namespace
}  // namespace meridian::node
