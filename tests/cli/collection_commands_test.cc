// Tests of cli/collection_commands.h against the fake client API (tests/client/fake_api.h): what
// `meridian collection info` prints, including the concurrent creates that lost to a collection.
#include "cli/collection_commands.h"

#include <sstream>

#include "tests/client/fake_api.h"
#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

TEST(CollectionCommandsTest, InfoShowsLostConcurrentCreatesWithRegionTimeAndSettings) {
  meridian::testing::FakeServerThread server;
  {
    auto client = client::Client::connect(server.address());
    MERIDIAN_ASSERT_OK(client);
    std::ostringstream plain;
    MERIDIAN_ASSERT_OK(run_collection_info(**client, CollectionInfoArgs{"c"}, plain));
    EXPECT_THAT(plain.str(), ::testing::Not(::testing::HasSubstr("conflicts")));
    std::ostringstream contested;
    MERIDIAN_ASSERT_OK(run_collection_info(**client, CollectionInfoArgs{"contested"}, contested));
    EXPECT_THAT(contested.str(), ::testing::HasSubstr("conflicts: 1 concurrent create(s)"));
    EXPECT_THAT(contested.str(),
                ::testing::HasSubstr("  region us, created 2025-12-05T08:00:01.123Z: dim 16, "
                                     "metric dot, index flat (dropped)\n"));
  }
}

}  // namespace
}  // namespace meridian::cli
