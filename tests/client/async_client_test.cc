// Tests of AsyncClient against the in-process fake API: request encoding, reply decoding and
// the mapping of server errors and lost connections to statuses.
#include "client/async_client.h"

#include <kj/async-io.h>

#include "tests/client/fake_api.h"
#include "tests/support/test_support.h"

namespace meridian::client {
namespace {

using ::meridian::testing::FakeStore;

// KJ objects have throwing destructors, which a gtest fixture may not have as members; they
// live in this struct behind a unique_ptr. Members are destroyed server first, event loop last.
struct LoopAndServer {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  FakeStore store;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::Promise<void> serving = nullptr;
};

class AsyncClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = network().parseAddress("127.0.0.1", 0).wait(env_->io.waitScope);
    env_->listener = address->listen();
    env_->serving = meridian::testing::serve_one_connection(*env_->listener, env_->store)
                        .eagerlyEvaluate(nullptr);
    address_ = "127.0.0.1:" + std::to_string(env_->listener->getPort());
  }

  kj::Network& network() { return env_->io.provider->getNetwork(); }
  const std::string& address() const { return address_; }

  // Closes the listener and any connection it accepted.
  void stop_server() {
    env_->serving = nullptr;
    env_->listener = nullptr;
  }

  std::unique_ptr<AsyncClient> connect(const ConnectOptions& options = {}) {
    auto client = AsyncClient::connect(network(), address(), options).wait(env_->io.waitScope);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  template <typename T>
  T wait(kj::Promise<T>&& promise) {
    return promise.wait(env_->io.waitScope);
  }

  std::unique_ptr<LoopAndServer> env_ = std::make_unique<LoopAndServer>();
  std::string address_;
};

TEST_F(AsyncClientTest, ConnectsAndReportsServerVersion) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->server_version(), "fake-1");
  auto status = wait(client->status());
  MERIDIAN_ASSERT_OK(status);
  EXPECT_EQ(status->version, "fake-1");
  EXPECT_EQ(status->node_id, "abcd");
  EXPECT_EQ(status->uptime_ms, 1234u);
  EXPECT_EQ(status->data_dir, "/fake");
  EXPECT_TRUE(status->peer_tls);
  EXPECT_EQ(status->tls_refused, 2u);
  ASSERT_EQ(status->replication.size(), 2u);
  EXPECT_FALSE(status->replication[0].quarantined);
  EXPECT_TRUE(status->replication[1].quarantined);
  EXPECT_EQ(status->replication[1].quarantine_reason, "remote delta: dimension 2, expected 3");
}

TEST_F(AsyncClientTest, UpsertGetRoundTripsIdsVectorsAndPayloads) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  auto uuid = PointId::parse("123e4567-e89b-12d3-a456-426614174000");
  MERIDIAN_ASSERT_OK(uuid);
  std::vector<PointData> points = {{PointId::number(7), {1.5f, -2.0f}, R"({"a":1})"},
                                   {*uuid, {0.25f, 4.0f}, ""}};
  auto written = wait(client->upsert("c", points));
  MERIDIAN_ASSERT_OK(written);
  EXPECT_EQ(written->applied, 2u);
  EXPECT_EQ(written->causal_token, "tok");

  std::vector<PointId> ids = {*uuid, PointId::number(8), PointId::number(7)};
  auto got = wait(client->get("c", ids, {.with_vector = true, .with_payload = true}));
  MERIDIAN_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].id, *uuid);
  EXPECT_EQ((*got)[0].vector, (std::vector<float>{0.25f, 4.0f}));
  EXPECT_EQ((*got)[0].payload_json, "");
  EXPECT_EQ((*got)[1].id, PointId::number(7));
  EXPECT_EQ((*got)[1].payload_json, R"({"a":1})");

  auto without = wait(client->get("c", ids, {}));
  MERIDIAN_ASSERT_OK(without);
  EXPECT_TRUE((*without)[0].vector.empty());
  EXPECT_TRUE((*without)[1].payload_json.empty());
}

TEST_F(AsyncClientTest, DeleteCountScrollAndSearch) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  std::vector<PointData> points;
  for (uint64_t i = 0; i < 5; ++i) {
    points.push_back({PointId::number(i), {float(i), 0}, "{}"});
  }
  MERIDIAN_ASSERT_OK(wait(client->upsert("c", points)));
  std::vector<PointId> doomed = {PointId::number(4), PointId::number(99)};
  auto deleted = wait(client->remove("c", doomed));
  MERIDIAN_ASSERT_OK(deleted);
  EXPECT_EQ(deleted->applied, 1u);
  auto count = wait(client->count("c"));
  MERIDIAN_ASSERT_OK(count);
  EXPECT_EQ(*count, 4u);

  auto page = wait(client->scroll("c", "", 3));
  MERIDIAN_ASSERT_OK(page);
  EXPECT_EQ(page->points.size(), 3u);
  EXPECT_EQ(page->next_cursor, "3");
  auto last = wait(client->scroll("c", page->next_cursor, 3));
  MERIDIAN_ASSERT_OK(last);
  EXPECT_EQ(last->points.size(), 1u);
  EXPECT_TRUE(last->next_cursor.empty());

  SearchRequest request{.collection = "c", .queries = {0, 0, 1, 1}, .k = 2, .with_payload = true};
  auto results = wait(client->search(request));
  MERIDIAN_ASSERT_OK(results);
  ASSERT_EQ(results->size(), 2u);
  ASSERT_EQ((*results)[1].size(), 2u);
  EXPECT_EQ((*results)[1][1].id, PointId::number(1));
  EXPECT_EQ((*results)[1][1].score, 1.0f);
  EXPECT_EQ((*results)[1][1].payload_json, "{}");
}

TEST_F(AsyncClientTest, CollectionCalls) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  auto created = wait(client->create_collection({.name = "new", .dim = 3, .metric = Metric::kDot}));
  MERIDIAN_ASSERT_OK(created);
  EXPECT_EQ(created->config.name, "new");
  EXPECT_EQ(created->config.dim, 3u);
  EXPECT_EQ(created->config.metric, Metric::kDot);
  auto list = wait(client->list_collections());
  MERIDIAN_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].config.metric, Metric::kCosine);
  EXPECT_EQ((*list)[0].stored_bytes, 99u);
  MERIDIAN_EXPECT_OK(wait(client->drop_collection("c")));
}

TEST_F(AsyncClientTest, ServerErrorsKeepTheirCodes) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  MERIDIAN_EXPECT_CODE(wait(client->create_collection({.name = "dup", .dim = 3})),
                       absl::StatusCode::kAlreadyExists);
  auto missing = wait(client->collection_info("missing"));
  MERIDIAN_EXPECT_CODE(missing, absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no collection missing");
  MERIDIAN_EXPECT_CODE(wait(client->drop_collection("missing")), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(wait(client->search({.collection = "c", .queries = {1, 2}, .k = 0})),
                       absl::StatusCode::kInvalidArgument);
  // The connection keeps working after errors.
  MERIDIAN_EXPECT_OK(wait(client->count("c")));
}

TEST_F(AsyncClientTest, GateRefusalIsReportedAtConnect) {
  auto client = wait(AsyncClient::connect(network(), address(), {.client_name = "banned"}));
  MERIDIAN_EXPECT_CODE(client, absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(client.status().message()), ::testing::HasSubstr(address()));
}

TEST_F(AsyncClientTest, LostConnectionIsUnavailable) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  MERIDIAN_ASSERT_OK(wait(client->count("c")));
  stop_server();
  MERIDIAN_EXPECT_CODE(wait(client->count("c")), absl::StatusCode::kUnavailable);
}

TEST_F(AsyncClientTest, RefusedConnectionIsUnavailableAndNamesTheAddress) {
  const std::string dead = address();
  stop_server();
  auto client = wait(AsyncClient::connect(network(), dead));
  MERIDIAN_EXPECT_CODE(client, absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(client.status().message()), ::testing::HasSubstr(dead));
}

TEST_F(AsyncClientTest, EmptyAddressIsInvalidArgument) {
  auto client = wait(AsyncClient::connect(network(), ""));
  MERIDIAN_EXPECT_CODE(client, absl::StatusCode::kInvalidArgument);
}

TEST_F(AsyncClientTest, ReplyOverTheReadLimitFailsCleanly) {
  // Enough for the Gate and small messages, too little for 2000 search hits: the oversized
  // reply is an error status, not a crash.
  auto client = connect({.traversal_limit_words = 4096});
  ASSERT_NE(client, nullptr);
  for (uint64_t batch = 0; batch < 20; ++batch) {
    std::vector<PointData> points;
    for (uint64_t i = 0; i < 100; ++i) {
      points.push_back({PointId::number(batch * 100 + i), {1, 2}, ""});
    }
    MERIDIAN_ASSERT_OK(wait(client->upsert("c", points)));
  }
  // KJ also refuses to send a message over the limit, as an error status.
  std::vector<PointData> too_many(2000, PointData{PointId::number(1), {1, 2}, ""});
  MERIDIAN_EXPECT_CODE(wait(client->upsert("c", too_many)), absl::StatusCode::kInternal);
  auto small = wait(client->search({.collection = "c", .queries = {0, 0}, .k = 10}));
  MERIDIAN_ASSERT_OK(small);
  auto results = wait(client->search({.collection = "c", .queries = {0, 0}, .k = 2000}));
  EXPECT_FALSE(results.ok());
  // The connection is gone after an oversized message; later calls fail, they do not hang.
  EXPECT_FALSE(wait(client->count("c")).ok());
}

}  // namespace
}  // namespace meridian::client
