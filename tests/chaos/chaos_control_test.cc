// ChaosControl against a proxy's real control socket on loopback.
#include "chaos/chaos_control.h"

#include "chaos/chaos_proxy.h"
#include "tests/chaos/socket_helpers.h"
#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

using std::chrono::milliseconds;
using testing::EchoServer;
using testing::TestSocket;

constexpr milliseconds kDeadline{20000};

struct ProxyWithControl {
  EchoServer echo;
  std::unique_ptr<ChaosProxy> proxy;
  std::optional<ChaosControl> control;
};

void start(ProxyWithControl& p) {
  ProxyOptions o;
  o.links.push_back(LinkSpec{"a", HostPort{"127.0.0.1", 0}, HostPort{"127.0.0.1", p.echo.port()}});
  o.links.push_back(LinkSpec{"b", HostPort{"127.0.0.1", 0}, HostPort{"127.0.0.1", p.echo.port()}});
  o.default_profile.delay_min_ms = 0;
  o.default_profile.delay_max_ms = 0;
  o.control = HostPort{"127.0.0.1", 0};
  auto proxy = ChaosProxy::start(o);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  p.proxy = *std::move(proxy);
  ASSERT_TRUE(p.proxy->control_address().has_value());
  auto control = ChaosControl::connect(*p.proxy->control_address());
  ASSERT_TRUE(control.ok()) << control.status();
  p.control.emplace(*std::move(control));
}

TEST(ChaosControlTest, StatusListsLinksAndSettings) {
  ProxyWithControl p;
  ASSERT_NO_FATAL_FAILURE(start(p));
  MERIDIAN_ASSERT_OK(p.control->set_delay("a", 5, 6));
  MERIDIAN_ASSERT_OK(p.control->set_reset_prob("b", 0.25));
  MERIDIAN_ASSERT_OK(p.control->set_stall_prob("b", 0.5, 100));
  MERIDIAN_ASSERT_OK(p.control->set_bandwidth("*", 1 << 20));
  MERIDIAN_EXPECT_CODE(p.control->set_bandwidth("c*", 1), absl::StatusCode::kFailedPrecondition);
  auto status = p.control->status();
  MERIDIAN_ASSERT_OK(status);
  ASSERT_EQ(status->links.size(), 2u);
  EXPECT_EQ(status->links[0].name, "a");
  EXPECT_EQ(status->links[0].profile.delay_min_ms, 5u);
  EXPECT_EQ(status->links[0].profile.bandwidth_bytes_per_s, uint64_t{1 << 20});
  EXPECT_EQ(status->links[1].profile.reset_prob, 0.25);
  EXPECT_EQ(status->links[1].profile.stall_ms, 100u);
  EXPECT_EQ(status->links[0].listen,
            "127.0.0.1:" + std::to_string(p.proxy->links()[0].listen.port));
}

TEST(ChaosControlTest, CutAndHealOneLinkLeaveTheOtherAlone) {
  ProxyWithControl p;
  ASSERT_NO_FATAL_FAILURE(start(p));
  auto on_a = TestSocket::connect(p.proxy->links()[0].listen.port);
  auto on_b = TestSocket::connect(p.proxy->links()[1].listen.port);
  MERIDIAN_ASSERT_OK(on_a);
  MERIDIAN_ASSERT_OK(on_b);
  MERIDIAN_ASSERT_OK(on_a->send_all("1"));
  MERIDIAN_ASSERT_OK(on_a->recv_exact(1, kDeadline));
  MERIDIAN_ASSERT_OK(p.control->cut("a"));
  EXPECT_TRUE(on_a->wait_closed(kDeadline));
  MERIDIAN_ASSERT_OK(on_b->send_all("2"));
  auto reply = on_b->recv_exact(1, kDeadline);
  MERIDIAN_ASSERT_OK(reply);
  EXPECT_EQ(*reply, "2");
  MERIDIAN_ASSERT_OK(p.control->heal("a"));
  auto again = TestSocket::connect(p.proxy->links()[0].listen.port);
  MERIDIAN_ASSERT_OK(again);
  MERIDIAN_ASSERT_OK(again->send_all("3"));
  MERIDIAN_ASSERT_OK(again->recv_exact(1, kDeadline));
}

TEST(ChaosControlTest, ErrorsAreOneLineReplies) {
  ProxyWithControl p;
  ASSERT_NO_FATAL_FAILURE(start(p));
  auto reply = p.control->command("explode");
  MERIDIAN_ASSERT_OK(reply);
  EXPECT_EQ(reply->rfind("error unknown command", 0), 0u) << *reply;
  MERIDIAN_EXPECT_CODE(p.control->cut("nosuch"), absl::StatusCode::kFailedPrecondition);
  MERIDIAN_EXPECT_CODE(p.control->set_delay("a", 9, 1), absl::StatusCode::kFailedPrecondition);
  // The session survives errors.
  MERIDIAN_EXPECT_OK(p.control->status());
}

TEST(ChaosControlTest, OverlongRequestIsRefusedAndClosed) {
  ProxyWithControl p;
  ASSERT_NO_FATAL_FAILURE(start(p));
  auto reply = p.control->command(std::string(4 * kMaxControlLine, 'x'));
  MERIDIAN_ASSERT_OK(reply);
  EXPECT_EQ(reply->rfind("error request longer than", 0), 0u) << *reply;
  // A fresh session still works.
  auto again = ChaosControl::connect(*p.proxy->control_address());
  MERIDIAN_ASSERT_OK(again);
  MERIDIAN_EXPECT_OK(again->status());
}

TEST(ChaosControlTest, ControlSocketIsLoopbackOnly) {
  ProxyOptions o;
  o.links.push_back(LinkSpec{"a", HostPort{"127.0.0.1", 0}, HostPort{"127.0.0.1", 9}});
  o.allowed_private = {"10.213.0.1"};
  o.control = HostPort{"10.213.0.1", 0};
  MERIDIAN_EXPECT_CODE(ChaosProxy::start(o), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::chaos
