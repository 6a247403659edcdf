// Tests for SecretBytes: zeroed allocation, moves, constant-time comparison.
#include "crypto/secret_bytes.h"

#include <utility>

#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

TEST(SecretBytes, AllocatesZeroedMemory) {
  absl::StatusOr<SecretBytes> bytes = SecretBytes::allocate(48);
  MERIDIAN_ASSERT_OK(bytes);
  ASSERT_EQ(bytes->size(), 48u);
  for (std::size_t i = 0; i < bytes->size(); ++i) EXPECT_EQ(bytes->data()[i], 0) << i;
}

TEST(SecretBytes, ZeroSizeIsEmpty) {
  absl::StatusOr<SecretBytes> bytes = SecretBytes::allocate(0);
  MERIDIAN_ASSERT_OK(bytes);
  EXPECT_TRUE(bytes->empty());
  EXPECT_EQ(bytes->data(), nullptr);
}

TEST(SecretBytes, MoveTransfersOwnershipAndEmptiesSource) {
  SecretBytes a = SecretBytes::allocate(32).value();
  a.data()[0] = 7;
  const unsigned char* where = a.data();
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(b.data()[0], 7);
  SecretBytes c = SecretBytes::allocate(8).value();
  c = std::move(b);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_EQ(c.data()[0], 7);
}

TEST(SecretBytes, EqualsComparesContentsAndSize) {
  SecretBytes a = SecretBytes::allocate(16).value();
  SecretBytes b = SecretBytes::allocate(16).value();
  SecretBytes c = SecretBytes::allocate(17).value();
  EXPECT_TRUE(a.equals(b));
  EXPECT_FALSE(a.equals(c));
  b.data()[15] = 1;
  EXPECT_FALSE(a.equals(b));
}

}  // namespace
}  // namespace meridian::crypto
