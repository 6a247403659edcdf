// Command line of meridian-chaos-proxy.
#include "chaos/proxy_command_line.h"

#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

TEST(ProxyCommandLineTest, ParsesEveryFlag) {
  auto cl = parse_proxy_command_line(
      {"--link", "a=127.0.0.1:0->127.0.0.1:7000", "--link=b=127.0.0.1:4001->127.0.0.2:7001",
       "--delay-ms", "10:20", "--seed=99", "--control", "127.0.0.1:0", "--allow-private",
       "10.213.0.2", "--queue-cap-bytes", "65536"});
  MERIDIAN_ASSERT_OK(cl);
  ASSERT_EQ(cl->options.links.size(), 2u);
  EXPECT_EQ(cl->options.links[1].name, "b");
  EXPECT_EQ(cl->options.links[1].listen.port, 4001);
  EXPECT_EQ(cl->options.default_profile.delay_min_ms, 10u);
  EXPECT_EQ(cl->options.default_profile.delay_max_ms, 20u);
  EXPECT_EQ(cl->options.seed, 99u);
  EXPECT_TRUE(cl->seed_given);
  ASSERT_TRUE(cl->options.control.has_value());
  EXPECT_EQ(cl->options.control->port, 0);
  EXPECT_EQ(cl->options.allowed_private, std::vector<std::string>{"10.213.0.2"});
  EXPECT_EQ(cl->options.queue_cap_bytes, 65536u);
}

TEST(ProxyCommandLineTest, DefaultsMatchTheIssue) {
  auto cl = parse_proxy_command_line({"--link", "a=127.0.0.1:0->127.0.0.1:7000"});
  MERIDIAN_ASSERT_OK(cl);
  EXPECT_EQ(cl->options.default_profile.delay_min_ms, 30u);
  EXPECT_EQ(cl->options.default_profile.delay_max_ms, 80u);
  EXPECT_FALSE(cl->seed_given);
  EXPECT_FALSE(cl->options.control.has_value());
}

TEST(ProxyCommandLineTest, RejectsBadArguments) {
  std::vector<std::vector<std::string>> bad = {
      {},
      {"--link"},
      {"--link", "nonsense"},
      {"--link", "a=127.0.0.1:0->127.0.0.1:1", "--delay-ms", "80:30"},
      {"--link", "a=127.0.0.1:0->127.0.0.1:1", "--seed", "x"},
      {"--link", "a=127.0.0.1:0->127.0.0.1:1", "--queue-cap-bytes", "0"},
      {"--link", "a=127.0.0.1:0->127.0.0.1:1", "--frobnicate"},
  };
  for (const auto& args : bad) {
    MERIDIAN_EXPECT_CODE(parse_proxy_command_line(args), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(parse_proxy_command_line({"--help"})->help);
}

}  // namespace
}  // namespace meridian::chaos
