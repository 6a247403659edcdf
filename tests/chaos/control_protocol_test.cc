// Control protocol of the chaos proxy: command parsing, profile updates, status round trip.
#include "chaos/control_protocol.h"

#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

using Kind = ControlCommand::Kind;

TEST(ControlProtocolTest, ParsesEveryCommand) {
  EXPECT_EQ(parse_control_command("status")->kind, Kind::kStatus);
  auto cut = parse_control_command("cut r1-r2");
  MERIDIAN_ASSERT_OK(cut);
  EXPECT_EQ(cut->kind, Kind::kCut);
  EXPECT_EQ(cut->link, "r1-r2");
  EXPECT_EQ(parse_control_command("heal *")->kind, Kind::kHeal);
  auto delay = parse_control_command("set a delay 10 20\r");
  MERIDIAN_ASSERT_OK(delay);
  EXPECT_EQ(delay->kind, Kind::kSetDelay);
  EXPECT_EQ(delay->a, 10u);
  EXPECT_EQ(delay->b, 20u);
  auto reset = parse_control_command("set a reset-prob 0.5");
  MERIDIAN_ASSERT_OK(reset);
  EXPECT_EQ(reset->probability, 0.5);
  EXPECT_FALSE(reset->has_a);
  auto reset_after = parse_control_command("set a reset-prob 1 200");
  MERIDIAN_ASSERT_OK(reset_after);
  EXPECT_TRUE(reset_after->has_a);
  EXPECT_EQ(reset_after->a, 200u);
  auto stall = parse_control_command("  set a stall-prob 0.1 300 ");
  MERIDIAN_ASSERT_OK(stall);
  EXPECT_EQ(stall->kind, Kind::kSetStallProb);
  EXPECT_EQ(stall->a, 300u);
  EXPECT_EQ(parse_control_command("set a bandwidth 1000000")->a, 1000000u);
}

TEST(ControlProtocolTest, LinkPatterns) {
  EXPECT_TRUE(link_matches("r1-r2", "r1-r2"));
  EXPECT_FALSE(link_matches("r1-r2", "r1-r2.0"));
  EXPECT_TRUE(link_matches("r1-*", "r1-r2.0"));
  EXPECT_FALSE(link_matches("r1-*", "r2-r1.0"));
  EXPECT_TRUE(link_matches("*", "anything"));
  EXPECT_TRUE(valid_link_pattern("r1-*"));
  EXPECT_TRUE(valid_link_pattern("*"));
  EXPECT_FALSE(valid_link_pattern("r*1"));
  EXPECT_FALSE(valid_link_pattern("**"));
  MERIDIAN_EXPECT_OK(parse_control_command("cut r1-*"));
  MERIDIAN_EXPECT_CODE(parse_control_command("cut *r1"), absl::StatusCode::kInvalidArgument);
}

TEST(ControlProtocolTest, RejectsMalformedCommands) {
  for (const char* bad : {"", "stat", "status now", "cut", "cut a b", "cut a$", "set a",
                          "set a delay 1", "set a delay x 2", "set a reset-prob 2",
                          "set a stall-prob 0.5", "set a colour red", "heal"}) {
    MERIDIAN_EXPECT_CODE(parse_control_command(bad), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ControlProtocolTest, ApplyToProfileValidates) {
  FaultProfile p;
  MERIDIAN_ASSERT_OK(apply_to_profile(*parse_control_command("set a delay 1 2"), p));
  EXPECT_EQ(p.delay_min_ms, 1u);
  EXPECT_EQ(p.delay_max_ms, 2u);
  MERIDIAN_EXPECT_CODE(apply_to_profile(*parse_control_command("set a delay 5 2"), p),
                       absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.delay_min_ms, 1u);  // unchanged on error
  MERIDIAN_ASSERT_OK(apply_to_profile(*parse_control_command("set a stall-prob 0.2 40"), p));
  EXPECT_EQ(p.stall_prob, 0.2);
  EXPECT_EQ(p.stall_ms, 40u);
  MERIDIAN_EXPECT_CODE(apply_to_profile(*parse_control_command("cut a"), p),
                       absl::StatusCode::kInvalidArgument);
}

TEST(ControlProtocolTest, StatusReplyRoundTrips) {
  ProxyStatus s;
  s.seed = 7;
  s.queue_cap_bytes = 1024;
  LinkStatus l;
  l.name = "r1-r2";
  l.listen = "127.0.0.1:4000";
  l.target = "127.0.0.1:5000";
  l.cut = true;
  l.profile.delay_min_ms = 40;
  l.profile.delay_max_ms = 45;
  l.profile.stall_prob = 0.125;
  l.profile.stall_ms = 200;
  l.profile.reset_prob = 0.5;
  l.profile.reset_after_max_ms = 300;
  l.profile.bandwidth_bytes_per_s = 1000;
  l.active_connections = 1;
  l.accepted_connections = 2;
  l.injected_resets = 3;
  l.closed_by_cut = 4;
  l.bytes_forwarded = 5;
  l.queued_bytes = 6;
  l.peak_queued_bytes = 7;
  s.links = {l, l};
  s.links[1].name = "b";
  s.links[1].cut = false;
  std::string line = format_status_reply(s);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto parsed = parse_status_reply(line);
  MERIDIAN_ASSERT_OK(parsed);
  EXPECT_EQ(parsed->seed, 7u);
  EXPECT_EQ(parsed->queue_cap_bytes, 1024u);
  ASSERT_EQ(parsed->links.size(), 2u);
  const LinkStatus& p = parsed->links[0];
  EXPECT_EQ(p.name, "r1-r2");
  EXPECT_EQ(p.listen, l.listen);
  EXPECT_EQ(p.target, l.target);
  EXPECT_TRUE(p.cut);
  EXPECT_EQ(p.profile, l.profile);
  EXPECT_EQ(p.active_connections, 1u);
  EXPECT_EQ(p.accepted_connections, 2u);
  EXPECT_EQ(p.injected_resets, 3u);
  EXPECT_EQ(p.closed_by_cut, 4u);
  EXPECT_EQ(p.bytes_forwarded, 5u);
  EXPECT_EQ(p.queued_bytes, 6u);
  EXPECT_EQ(p.peak_queued_bytes, 7u);
  EXPECT_FALSE(parsed->links[1].cut);
}

TEST(ControlProtocolTest, StatusReplyErrors) {
  MERIDIAN_EXPECT_CODE(parse_status_reply("error proxy stopped"), absl::StatusCode::kUnavailable);
  MERIDIAN_EXPECT_CODE(parse_status_reply("garbage"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_status_reply("ok seed=x"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_status_reply("ok listen=1"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::chaos
