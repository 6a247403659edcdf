// Fault profile validation, address and link-spec parsing of the chaos proxy.
#include "chaos/fault_profile.h"

#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

TEST(FaultProfileTest, DefaultIsValidAndMatchesTheIssue) {
  FaultProfile p;
  MERIDIAN_EXPECT_OK(validate_fault_profile(p));
  EXPECT_EQ(p.delay_min_ms, 30u);
  EXPECT_EQ(p.delay_max_ms, 80u);
}

TEST(FaultProfileTest, RejectsBadValues) {
  FaultProfile p;
  p.delay_min_ms = 90;
  MERIDIAN_EXPECT_CODE(validate_fault_profile(p), absl::StatusCode::kInvalidArgument);
  p = FaultProfile{};
  p.reset_prob = 1.5;
  MERIDIAN_EXPECT_CODE(validate_fault_profile(p), absl::StatusCode::kInvalidArgument);
  p = FaultProfile{};
  p.stall_prob = -0.1;
  MERIDIAN_EXPECT_CODE(validate_fault_profile(p), absl::StatusCode::kInvalidArgument);
  p = FaultProfile{};
  p.stall_ms = kMaxFaultMs + 1;
  MERIDIAN_EXPECT_CODE(validate_fault_profile(p), absl::StatusCode::kInvalidArgument);
}

TEST(ChaosHostPortTest, ParsesV4V6AndLocalhost) {
  auto a = parse_host_port("127.0.0.1:4000");
  MERIDIAN_ASSERT_OK(a);
  EXPECT_EQ(*a, (HostPort{"127.0.0.1", 4000}));
  auto b = parse_host_port("[::1]:0");
  MERIDIAN_ASSERT_OK(b);
  EXPECT_EQ(*b, (HostPort{"::1", 0}));
  EXPECT_EQ(format_host_port(*b), "[::1]:0");
  MERIDIAN_EXPECT_OK(parse_host_port("localhost:1"));
}

TEST(ChaosHostPortTest, RejectsMalformed) {
  for (const char* bad : {"", "127.0.0.1", ":80", "127.0.0.1:", "127.0.0.1:65536", "::1:80",
                          "[::1]80", "h:-1", "h:8x"}) {
    MERIDIAN_EXPECT_CODE(parse_host_port(bad), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ChaosLinkSpecTest, ParsesNameListenAndTarget) {
  auto spec = parse_link_spec("r1-r2=127.0.0.1:0->127.0.0.2:7000");
  MERIDIAN_ASSERT_OK(spec);
  EXPECT_EQ(spec->name, "r1-r2");
  EXPECT_EQ(spec->listen, (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(spec->target, (HostPort{"127.0.0.2", 7000}));
}

TEST(ChaosLinkSpecTest, RejectsMalformed) {
  for (const char* bad :
       {"a=127.0.0.1:1", "=127.0.0.1:1->127.0.0.1:2", "a b=127.0.0.1:1->x:2",
        "a=127.0.0.1:1->127.0.0.1:0", "127.0.0.1:1->127.0.0.1:2", "*=127.0.0.1:1->127.0.0.1:2"}) {
    MERIDIAN_EXPECT_CODE(parse_link_spec(bad), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ChaosNumberParsingTest, UnsignedAndProbability) {
  EXPECT_EQ(*parse_unsigned("123", "x"), 123u);
  MERIDIAN_EXPECT_CODE(parse_unsigned("-1", "x"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_unsigned("1.5", "x"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*parse_probability("0.25", "p"), 0.25);
  EXPECT_EQ(*parse_probability("1", "p"), 1.0);
  MERIDIAN_EXPECT_CODE(parse_probability("1.01", "p"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(parse_probability("nan", "p"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::chaos
