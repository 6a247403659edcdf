// The chaos proxy's address safety rule: loopback always, listed private addresses only.
#include "chaos/address_policy.h"

#include "tests/support/test_support.h"

namespace meridian::chaos {
namespace {

TEST(AddressPolicyTest, LoopbackIsAlwaysAllowed) {
  auto policy = AddressPolicy::create({});
  MERIDIAN_ASSERT_OK(policy);
  EXPECT_EQ(*policy->check({"127.0.0.1", 1}, "target"), "127.0.0.1");
  EXPECT_EQ(*policy->check({"127.3.4.5", 1}, "target"), "127.3.4.5");
  EXPECT_EQ(*policy->check({"localhost", 1}, "target"), "127.0.0.1");
  EXPECT_EQ(*policy->check({"::1", 1}, "target"), "::1");
}

TEST(AddressPolicyTest, EverythingElseIsRefusedWithAClearMessage) {
  auto policy = AddressPolicy::create({});
  MERIDIAN_ASSERT_OK(policy);
  for (const char* host :
       {"8.8.8.8", "10.0.0.1", "172.16.0.1", "192.168.1.1", "0.0.0.0", "::", "example.com"}) {
    auto checked = policy->check({host, 80}, "target");
    MERIDIAN_EXPECT_CODE(checked, absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(checked.status().message()), ::testing::HasSubstr("refused"));
  }
}

TEST(AddressPolicyTest, ListedPrivateAddressesAreAllowed) {
  auto policy = AddressPolicy::create({"10.213.0.2", "172.31.255.1", "192.168.0.9"});
  MERIDIAN_ASSERT_OK(policy);
  MERIDIAN_EXPECT_OK(policy->check({"10.213.0.2", 7000}, "target"));
  MERIDIAN_EXPECT_OK(policy->check({"172.31.255.1", 7000}, "target"));
  MERIDIAN_EXPECT_OK(policy->check({"192.168.0.9", 7000}, "target"));
  MERIDIAN_EXPECT_CODE(policy->check({"10.213.0.3", 7000}, "target"),
                       absl::StatusCode::kInvalidArgument);
}

TEST(AddressPolicyTest, OnlyPrivateAddressesMayBeListed) {
  for (const char* bad :
       {"8.8.8.8", "172.32.0.1", "172.15.0.1", "192.169.0.1", "host", "fd00::1"}) {
    MERIDIAN_EXPECT_CODE(AddressPolicy::create({bad}), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace meridian::chaos
