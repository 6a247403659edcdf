// Tests for init_sodium(): idempotent and successful.
#include "crypto/sodium_init.h"

#include "tests/support/test_support.h"

namespace meridian::crypto {
namespace {

TEST(SodiumInit, SucceedsRepeatedly) {
  MERIDIAN_EXPECT_OK(init_sodium());
  MERIDIAN_EXPECT_OK(init_sodium());
}

}  // namespace
}  // namespace meridian::crypto
