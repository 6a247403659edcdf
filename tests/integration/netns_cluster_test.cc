// deploy/local/cluster.sh in namespace mode (--netns, root only): each region in its own network
// namespace behind a veth pair, the chaos proxy in the host namespace, partitions as nftables
// drops inside the region's namespace. Two regions replicate; a cut region neither sends nor
// receives (the other side reports it down) while its client port still answers; after heal both
// converge; stop removes the namespaces. Skips without root, ip or nft. Label `slow`.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "tests/support/cluster_process.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::TempDir;
using testing::wait_until;
using testing::with_client;
using namespace std::chrono_literals;

// Runs `command` through the shell; returns its exit status and stdout.
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, out};
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool netns_possible() {
  return ::geteuid() == 0 && run("ip netns list >/dev/null 2>&1").first == 0 &&
         run("nft --version >/dev/null 2>&1").first == 0;
}

// Starts and (on destruction) stops a namespace-mode cluster of regions a and b.
class NetnsCluster {
 public:
  explicit NetnsCluster(const TempDir& dir)
      // A base port per process, so that parallel runs do not share namespaces or ports.
      : base_port_(20000 + static_cast<int>(::getpid() % 150) * 100),
        script_(absl::StrCat("MERIDIAN_BIN=", testing::built_binary("").string(), " ",
                             testing::source_path("deploy/local/cluster.sh").string())),
        dir_((dir.path() / "cluster").string()) {}
  ~NetnsCluster() {
    if (started_) run(absl::StrCat(script_, " stop --dir ", dir_, " >/dev/null 2>&1"));
  }

  std::pair<int, std::string> start() {
    started_ = true;
    return run(absl::StrCat(script_, " start --netns --regions a,b --nodes 1 --insecure",
                            " --delay-ms 5:10 --base-port ", base_port_, " --dir ", dir_, " 2>&1"));
  }
  std::pair<int, std::string> command(const std::string& verb) {
    return run(absl::StrCat(script_, " ", verb, " --dir ", dir_, " 2>&1"));
  }
  std::pair<int, std::string> stop() {
    started_ = false;
    return command("stop");
  }
  // The client address of each node ("nodes": NAME REGION CLIENT PEER).
  std::vector<std::string> clients() {
    std::vector<std::string> out;
    std::istringstream lines(command("nodes").second);
    std::string name, region, client, peer;
    while (lines >> name >> region >> client >> peer) out.push_back(client);
    return out;
  }
  std::string namespace_prefix() const { return absl::StrCat("mrd", base_port_, "-"); }

 private:
  int base_port_;
  std::string script_;
  std::string dir_;
  bool started_ = false;
};

absl::StatusOr<uint64_t> count_on(const std::string& address) {
  return with_client(address, [](Client& c) { return c.count("docs"); });
}

absl::Status write_on(const std::string& address, uint64_t first, uint64_t n) {
  return with_client(address, [&](Client& c) -> absl::Status {
    std::vector<PointData> points;
    for (uint64_t id = first; id < first + n; ++id) {
      points.push_back({PointId::number(id), {static_cast<float>(id), 1.0f}, "{}"});
    }
    return c.upsert("docs", points).status();
  });
}

bool region_up_on(const std::string& address, const std::string& region, bool up) {
  auto s = with_client(address, [](Client& c) { return c.status(); });
  if (!s.ok()) return false;
  for (const auto& m : s->members) {
    if (m.region == region) return m.up == up;
  }
  return false;
}

TEST(NetnsClusterTest, RegionsInNamespacesReplicatePartitionAndHeal) {
  if (!netns_possible()) GTEST_SKIP() << "needs root, ip (iproute2) and nft (nftables)";
  TempDir dir;
  NetnsCluster cluster(dir);
  auto [started, start_log] = cluster.start();
  ASSERT_EQ(started, 0) << start_log;
  auto clients = cluster.clients();
  ASSERT_EQ(clients.size(), 2u) << start_log;
  const std::string a = clients[0], b = clients[1];
  // Nodes listen on their namespace's veth address, not on loopback.
  EXPECT_TRUE(a.starts_with("10.213.") && b.starts_with("10.213.")) << a << " " << b;
  EXPECT_THAT(run("ip netns list").second, ::testing::HasSubstr(cluster.namespace_prefix()));

  MERIDIAN_ASSERT_OK(with_client(a, [](Client& c) {
    return c.create_collection({"docs", 2, Metric::kL2, IndexKind::kFlat}).status();
  }));
  MERIDIAN_ASSERT_OK(write_on(a, 1, 10));
  ASSERT_TRUE(wait_until([&] { return count_on(b).value_or(0) == 10; }, 30s));

  // Cut b: its client port still answers, but nothing crosses until a reports b down (no
  // heartbeat for 10 s).
  auto cut = cluster.command("cut b");
  ASSERT_EQ(cut.first, 0) << cut.second;
  MERIDIAN_ASSERT_OK(write_on(a, 11, 10));
  MERIDIAN_ASSERT_OK(write_on(b, 100, 5));
  ASSERT_TRUE(wait_until([&] { return region_up_on(a, "b", false); }, 40s))
      << "a still hears b through the cut";
  EXPECT_EQ(count_on(b).value_or(0), 15u) << "a's writes crossed the cut";
  EXPECT_EQ(count_on(a).value_or(0), 20u) << "b's writes crossed the cut";

  auto heal = cluster.command("heal b");
  ASSERT_EQ(heal.first, 0) << heal.second;
  ASSERT_TRUE(wait_until(
      [&] { return count_on(a).value_or(0) == 25 && count_on(b).value_or(0) == 25; }, 60s))
      << "a " << count_on(a).value_or(0) << ", b " << count_on(b).value_or(0);
  EXPECT_TRUE(wait_until([&] { return region_up_on(a, "b", true); }, 30s));

  auto stopped = cluster.stop();
  EXPECT_EQ(stopped.first, 0) << stopped.second;
  EXPECT_THAT(run("ip netns list").second,
              ::testing::Not(::testing::HasSubstr(cluster.namespace_prefix())));
}

}  // namespace
}  // namespace meridian
