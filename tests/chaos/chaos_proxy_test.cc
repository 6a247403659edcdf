// ChaosProxy in-process over real loopback sockets: integrity and order, delay, cut/heal,
// injected resets, address refusal and back-pressure.
#include "chaos/chaos_proxy.h"

#include <atomic>
#include <thread>

#include "tests/chaos/socket_helpers.h"
#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

using std::chrono::milliseconds;
using testing::EchoServer;
using testing::TestSocket;

constexpr milliseconds kDeadline{20000};

ProxyOptions one_link(uint16_t echo_port, uint32_t min_ms, uint32_t max_ms) {
  ProxyOptions o;
  o.links.push_back(LinkSpec{"a", HostPort{"127.0.0.1", 0}, HostPort{"127.0.0.1", echo_port}});
  o.default_profile.delay_min_ms = min_ms;
  o.default_profile.delay_max_ms = max_ms;
  o.seed = 42;
  return o;
}

// Polls `condition` until it holds or the deadline passes; the interval only bounds CPU use.
template <typename Fn>
bool wait_until(Fn condition, milliseconds deadline = kDeadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

LinkStatus link_status(ChaosProxy& proxy) {
  auto s = proxy.status();
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() && !s->links.empty() ? s->links[0] : LinkStatus{};
}

// Sends `payload` from a thread while reading the echo on this one; returns what came back.
absl::StatusOr<std::string> echo_through(uint16_t port, const std::string& payload) {
  auto socket = TestSocket::connect(port);
  if (!socket.ok()) return socket.status();
  absl::Status sent;
  std::thread sender([&] { sent = socket->send_all(payload); });
  auto echoed = socket->recv_exact(payload.size(), kDeadline);
  sender.join();
  if (!sent.ok()) return sent;
  return echoed;
}

TEST(ChaosProxyTest, ConcurrentConnectionsArriveIntactAndInOrder) {
  EchoServer echo;
  ASSERT_NE(echo.port(), 0);
  auto proxy = ChaosProxy::start(one_link(echo.port(), 0, 3));
  MERIDIAN_ASSERT_OK(proxy);
  uint16_t port = (*proxy)->links()[0].listen.port;
  ASSERT_NE(port, 0);
  constexpr int kConnections = 4;
  std::vector<std::string> payloads;
  for (int i = 0; i < kConnections; ++i) payloads.push_back(testing::random_bytes(3 << 20, i + 1));
  std::vector<absl::StatusOr<std::string>> results(kConnections, std::string());
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] { results[i] = echo_through(port, payloads[i]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kConnections; ++i) {
    MERIDIAN_ASSERT_OK(results[i]);
    EXPECT_TRUE(*results[i] == payloads[i]) << "connection " << i << " corrupted or reordered";
  }
  // The counter moves when a write completes, which the proxy may see after the peer read it.
  const uint64_t expected = uint64_t{2} * kConnections * (3 << 20);
  EXPECT_TRUE(wait_until([&] { return link_status(**proxy).bytes_forwarded == expected; }));
  EXPECT_EQ(link_status(**proxy).accepted_connections, uint64_t{kConnections});
}

TEST(ChaosProxyTest, RoundTripTakesAtLeastTwiceTheOneWayDelay) {
  EchoServer echo;
  auto proxy = ChaosProxy::start(one_link(echo.port(), 40, 40));
  MERIDIAN_ASSERT_OK(proxy);
  auto socket = TestSocket::connect((*proxy)->links()[0].listen.port);
  MERIDIAN_ASSERT_OK(socket);
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    MERIDIAN_ASSERT_OK(socket->send_all("x"));
    auto reply = socket->recv_exact(1, kDeadline);
    MERIDIAN_ASSERT_OK(reply);
    // Lower bound only: wall-clock upper bounds are flaky on a loaded machine.
    EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(80));
  }
}

TEST(ChaosProxyTest, CutClosesConnectionsAndRefusesNewOnesUntilHeal) {
  EchoServer echo;
  auto proxy = ChaosProxy::start(one_link(echo.port(), 0, 0));
  MERIDIAN_ASSERT_OK(proxy);
  uint16_t port = (*proxy)->links()[0].listen.port;
  auto before = TestSocket::connect(port);
  MERIDIAN_ASSERT_OK(before);
  MERIDIAN_ASSERT_OK(before->send_all("ping"));
  MERIDIAN_ASSERT_OK(before->recv_exact(4, kDeadline));

  MERIDIAN_ASSERT_OK((*proxy)->cut("a"));
  EXPECT_TRUE(before->wait_closed(kDeadline));
  auto during = TestSocket::connect(port);
  if (during.ok()) {
    EXPECT_TRUE(during->wait_closed(kDeadline));
  }
  LinkStatus s = link_status(**proxy);
  EXPECT_TRUE(s.cut);
  EXPECT_GE(s.closed_by_cut, 1u);

  MERIDIAN_ASSERT_OK((*proxy)->heal("a"));
  auto after = TestSocket::connect(port);
  MERIDIAN_ASSERT_OK(after);
  MERIDIAN_ASSERT_OK(after->send_all("pong"));
  auto reply = after->recv_exact(4, kDeadline);
  MERIDIAN_ASSERT_OK(reply);
  EXPECT_EQ(*reply, "pong");
}

TEST(ChaosProxyTest, ResetProbabilityOneResetsEveryConnection) {
  EchoServer echo;
  ProxyOptions options = one_link(echo.port(), 0, 0);
  options.default_profile.reset_prob = 1.0;
  options.default_profile.reset_after_max_ms = 50;
  auto proxy = ChaosProxy::start(options);
  MERIDIAN_ASSERT_OK(proxy);
  for (int i = 0; i < 3; ++i) {
    auto socket = TestSocket::connect((*proxy)->links()[0].listen.port);
    MERIDIAN_ASSERT_OK(socket);
    EXPECT_TRUE(socket->wait_closed(kDeadline)) << "connection " << i << " was not reset";
  }
  EXPECT_TRUE(wait_until([&] { return link_status(**proxy).injected_resets == 3; }));
}

TEST(ChaosProxyTest, ResetProbabilityZeroNeverResets) {
  EchoServer echo;
  ProxyOptions options = one_link(echo.port(), 0, 2);
  options.default_profile.reset_after_max_ms = 50;
  auto proxy = ChaosProxy::start(options);
  MERIDIAN_ASSERT_OK(proxy);
  for (int i = 0; i < 3; ++i) {
    auto socket = TestSocket::connect((*proxy)->links()[0].listen.port);
    MERIDIAN_ASSERT_OK(socket);
    // Round trips spread over well past reset_after_max_ms.
    for (int round = 0; round < 30; ++round) {
      MERIDIAN_ASSERT_OK(socket->send_all("abc"));
      MERIDIAN_ASSERT_OK(socket->recv_exact(3, kDeadline));
    }
  }
  EXPECT_EQ(link_status(**proxy).injected_resets, 0u);
}

TEST(ChaosProxyTest, StallsDelayButKeepOrder) {
  EchoServer echo;
  ProxyOptions options = one_link(echo.port(), 0, 1);
  options.default_profile.stall_prob = 0.5;
  options.default_profile.stall_ms = 5;
  auto proxy = ChaosProxy::start(options);
  MERIDIAN_ASSERT_OK(proxy);
  std::string payload = testing::random_bytes(1 << 20, 9);
  auto echoed = echo_through((*proxy)->links()[0].listen.port, payload);
  MERIDIAN_ASSERT_OK(echoed);
  EXPECT_TRUE(*echoed == payload);
}

TEST(ChaosProxyTest, BandwidthLimitSlowsTransfers) {
  EchoServer echo;
  ProxyOptions options = one_link(echo.port(), 0, 0);
  options.default_profile.bandwidth_bytes_per_s = 1 << 20;
  auto proxy = ChaosProxy::start(options);
  MERIDIAN_ASSERT_OK(proxy);
  std::string payload = testing::random_bytes(256 << 10, 3);
  auto start = std::chrono::steady_clock::now();
  auto echoed = echo_through((*proxy)->links()[0].listen.port, payload);
  MERIDIAN_ASSERT_OK(echoed);
  EXPECT_TRUE(*echoed == payload);
  // 256 KiB at 1 MiB/s takes at least 250 ms per direction; both directions overlap, so only
  // one is asserted (lower bound only).
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(240));
}

TEST(ChaosProxyTest, RefusesTargetsOutsideThisMachine) {
  for (const char* host : {"8.8.8.8", "10.1.2.3", "192.168.7.7", "example.com"}) {
    ProxyOptions options;
    options.links.push_back(LinkSpec{"a", HostPort{"127.0.0.1", 0}, HostPort{host, 53}});
    auto proxy = ChaosProxy::start(options);
    MERIDIAN_EXPECT_CODE(proxy, absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(proxy.status().message()), ::testing::HasSubstr("refused")) << host;
  }
  // A listening address outside loopback is refused too.
  ProxyOptions wide;
  wide.links.push_back(LinkSpec{"a", HostPort{"0.0.0.0", 0}, HostPort{"127.0.0.1", 9}});
  MERIDIAN_EXPECT_CODE(ChaosProxy::start(wide), absl::StatusCode::kInvalidArgument);
}

TEST(ChaosProxyTest, AllowPrivateAdmitsOnlyTheListedAddress) {
  ProxyOptions options;
  options.links.push_back(LinkSpec{"a", HostPort{"127.0.0.1", 0}, HostPort{"10.213.0.2", 7000}});
  options.allowed_private = {"10.213.0.2"};
  auto proxy = ChaosProxy::start(options);
  MERIDIAN_EXPECT_OK(proxy);
  options.allowed_private = {"10.213.0.3"};
  MERIDIAN_EXPECT_CODE(ChaosProxy::start(options), absl::StatusCode::kInvalidArgument);
  options.allowed_private = {"8.8.8.8"};
  MERIDIAN_EXPECT_CODE(ChaosProxy::start(options), absl::StatusCode::kInvalidArgument);
}

TEST(ChaosProxyTest, SlowReaderDoesNotGrowQueuesBeyondTheCap) {
  EchoServer echo;
  echo.set_paused(true);
  ProxyOptions options = one_link(echo.port(), 0, 0);
  constexpr uint64_t kCap = 256 * 1024;
  options.queue_cap_bytes = kCap;
  auto proxy = ChaosProxy::start(options);
  MERIDIAN_ASSERT_OK(proxy);
  // Far more than the socket buffers on both sides of the proxy can absorb.
  std::string payload = testing::random_bytes(64 << 20, 5);
  auto socket = TestSocket::connect((*proxy)->links()[0].listen.port);
  MERIDIAN_ASSERT_OK(socket);
  std::atomic<bool> sent_all{false};
  absl::Status sent;
  std::thread sender([&] {
    sent = socket->send_all(payload);
    sent_all = true;
  });
  // The proxy fills its queue up to the cap, then stops reading: the sender blocks.
  EXPECT_TRUE(wait_until([&] { return link_status(**proxy).queued_bytes >= kCap; }));
  LinkStatus s = link_status(**proxy);
  EXPECT_LE(s.queued_bytes, kCap);
  EXPECT_LE(s.peak_queued_bytes, kCap);
  EXPECT_FALSE(sent_all.load());

  echo.set_paused(false);
  auto echoed = socket->recv_exact(payload.size(), milliseconds(60000));
  sender.join();
  MERIDIAN_ASSERT_OK(sent);
  MERIDIAN_ASSERT_OK(echoed);
  EXPECT_TRUE(*echoed == payload);
  EXPECT_LE(link_status(**proxy).peak_queued_bytes, kCap);
}

TEST(ChaosProxyTest, ExecuteAnswersTheControlProtocol) {
  EchoServer echo;
  auto proxy = ChaosProxy::start(one_link(echo.port(), 30, 80));
  MERIDIAN_ASSERT_OK(proxy);
  EXPECT_EQ((*proxy)->execute("set a delay 5 10").rfind("ok set a delay=5:10", 0), 0u);
  EXPECT_EQ((*proxy)->execute("set a delay 10 5").rfind("error", 0), 0u);
  EXPECT_EQ((*proxy)->execute("cut nosuch"), "error unknown link nosuch");
  EXPECT_EQ((*proxy)->execute("cut *"), "ok cut *");
  EXPECT_EQ((*proxy)->execute("heal *"), "ok heal *");
  auto status = parse_status_reply((*proxy)->execute("status"));
  MERIDIAN_ASSERT_OK(status);
  EXPECT_EQ(status->seed, 42u);
  ASSERT_EQ(status->links.size(), 1u);
  EXPECT_EQ(status->links[0].profile.delay_min_ms, 5u);
  EXPECT_FALSE(status->links[0].cut);
  MERIDIAN_EXPECT_CODE((*proxy)->cut("nosuch"), absl::StatusCode::kNotFound);
  (*proxy)->stop();
  EXPECT_EQ((*proxy)->execute("status"), "error proxy stopped");
}

}  // namespace
}  // namespace meridian::chaos
