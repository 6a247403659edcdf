// Tests of the blocking Client: connect failures and a round of calls against the fake API
// running on its own thread.
#include "client/client.h"

#include "tests/client/fake_api.h"
#include "tests/support/test_support.h"

namespace meridian::client {
namespace {

TEST(ClientTest, RefusedConnectionIsUnavailableWithAddress) {
  // Port 1 on loopback: nothing listens there in a test environment.
  auto client = Client::connect("127.0.0.1:1");
  MERIDIAN_EXPECT_CODE(client, absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(client.status().message()), ::testing::HasSubstr("127.0.0.1:1"));
}

TEST(ClientTest, SecondEventLoopOnTheSameThreadIsFailedPrecondition) {
  auto io = kj::setupAsyncIo();
  MERIDIAN_EXPECT_CODE(Client::connect("127.0.0.1:1"), absl::StatusCode::kFailedPrecondition);
}

TEST(ClientTest, BlockingCallsAgainstFakeServer) {
  meridian::testing::FakeServerThread server;
  {
    auto client = Client::connect(server.address());
    MERIDIAN_ASSERT_OK(client);
    EXPECT_EQ((*client)->server_version(), "fake-1");
    std::vector<PointData> points = {{PointId::number(1), {1, 2}, R"({"k":"v"})"}};
    auto written = (*client)->upsert("c", points);
    MERIDIAN_ASSERT_OK(written);
    EXPECT_EQ(written->applied, 1u);
    auto count = (*client)->count("c");
    MERIDIAN_ASSERT_OK(count);
    EXPECT_EQ(*count, 1u);
    auto results = (*client)->search({.collection = "c", .queries = {1, 2}, .k = 5});
    MERIDIAN_ASSERT_OK(results);
    ASSERT_EQ(results->size(), 1u);
    EXPECT_EQ((*results)[0].size(), 1u);
    MERIDIAN_EXPECT_CODE((*client)->count("missing"), absl::StatusCode::kNotFound);
    std::vector<PointId> ids = {PointId::number(1)};
    auto removed = (*client)->remove("c", ids);
    MERIDIAN_ASSERT_OK(removed);
    EXPECT_EQ(removed->applied, 1u);
  }  // the client disconnects, so the server thread ends
}

TEST(ClientTest, CollectionInfoCarriesLostConcurrentCreates) {
  meridian::testing::FakeServerThread server;
  {
    auto client = Client::connect(server.address());
    MERIDIAN_ASSERT_OK(client);
    auto plain = (*client)->collection_info("c");
    MERIDIAN_ASSERT_OK(plain);
    EXPECT_TRUE(plain->conflicts.empty());
    auto contested = (*client)->collection_info("contested");
    MERIDIAN_ASSERT_OK(contested);
    ASSERT_EQ(contested->conflicts.size(), 1u);
    const CatalogConflict& lost = contested->conflicts[0];
    EXPECT_EQ(lost.region, "us");
    EXPECT_EQ(lost.created_ms, 1'764'921'601'123u);
    EXPECT_EQ(lost.incarnation, 77u);
    EXPECT_EQ(lost.config.dim, 16u);
    EXPECT_EQ(lost.config.metric, Metric::kDot);
    EXPECT_TRUE(lost.dropped);
  }
}

}  // namespace
}  // namespace meridian::client
