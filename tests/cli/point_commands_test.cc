// Tests of cli/point_commands.h against the fake client API (tests/client/fake_api.h): what
// `meridian status` prints about the peer port's TLS, quarantined replication peers and shard
// replicas being handed off.
#include "cli/point_commands.h"

#include <sstream>

#include "tests/client/fake_api.h"
#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

TEST(PointCommandsTest, StatusShowsPeerTlsAndQuarantinedPeers) {
  meridian::testing::FakeServerThread server;
  {
    auto client = client::Client::connect(server.address());
    MERIDIAN_ASSERT_OK(client);
    std::ostringstream out;
    MERIDIAN_ASSERT_OK(run_status(**client, out));
    const std::string text = out.str();
    EXPECT_THAT(text, ::testing::HasSubstr("peer TLS:    mutual TLS, 2 refused\n"));
    EXPECT_THAT(text, ::testing::HasSubstr("replication: 2 peer replicas, 1 QUARANTINED\n"));
    // The quarantine line follows the quarantined peer's line, with the peer's error.
    const size_t ap = text.find("c -> 98765432 (ap)");
    const size_t line = text.find(
        "QUARANTINED: it rejects our deltas as invalid (remote delta: "
        "dimension 2, expected 3)");
    ASSERT_NE(ap, std::string::npos) << text;
    ASSERT_NE(line, std::string::npos) << text;
    EXPECT_GT(line, ap);
    EXPECT_EQ(text.find("QUARANTINED: it rejects", line + 1), std::string::npos) << text;
  }
}

TEST(PointCommandsTest, StatusShowsReplicasBeingHandedOffAndTheOwnersTheyWaitFor) {
  meridian::testing::FakeServerThread server;
  {
    auto client = client::Client::connect(server.address());
    MERIDIAN_ASSERT_OK(client);
    std::ostringstream out;
    MERIDIAN_ASSERT_OK(run_status(**client, out));
    const std::string text = out.str();
    EXPECT_THAT(text, ::testing::HasSubstr(
                          "  c shard 3  RETIRING (no longer owned here; still taking writes)\n"
                          "    owner 55556666 not caught up: not connected\n"))
        << text;
  }
}

}  // namespace
}  // namespace meridian::cli
