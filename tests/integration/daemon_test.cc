// End-to-end tests of a real meridiand process over real Cap'n Proto RPC: the API, typed
// errors for bad input (after which the node keeps serving), durability across kill -9,
// clean SIGTERM shutdown, and refusing to start without (or with the wrong) master key.
#include <signal.h>
#include <sys/wait.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "client/client.h"
#include "crypto/key_file.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::DaemonProcess;
using testing::TempDir;
using namespace std::chrono_literals;

constexpr auto kStartDeadline = 30s;

struct RunningNode {
  std::unique_ptr<DaemonProcess> process;
  std::unique_ptr<Client> client;
};

std::vector<std::string> node_args(const TempDir& dir, const std::string& key_file) {
  std::vector<std::string> args = {"--data-dir", (dir.path() / "data").string(), "--listen",
                                   "127.0.0.1:0"};
  if (key_file.empty()) {
    args.push_back("--insecure-no-encryption");
  } else {
    args.push_back("--key-file");
    args.push_back(key_file);
  }
  return args;
}

// Starts a node and connects a client, or fails the test with the node's log.
void start_node(const TempDir& dir, const std::string& key_file, RunningNode& out) {
  out.process = std::make_unique<DaemonProcess>(node_args(dir, key_file), dir.path() / "node.log");
  auto address = out.process->wait_listening(kStartDeadline);
  ASSERT_TRUE(address.has_value()) << out.process->log();
  auto client = Client::connect(*address);
  ASSERT_TRUE(client.ok()) << client.status();
  out.client = std::move(*client);
}

std::vector<PointData> grid_points(uint64_t first, size_t n, uint32_t dim) {
  std::vector<PointData> out;
  for (size_t i = 0; i < n; ++i) {
    PointData p;
    p.id = PointId::number(first + i);
    for (uint32_t d = 0; d < dim; ++d)
      p.vector.push_back(static_cast<float>((first + i) * 7 % 101 + d));
    p.payload_json = "{\"n\":" + std::to_string(first + i) + "}";
    out.push_back(std::move(p));
  }
  return out;
}

TEST(DaemonTest, ServesCollectionsPointsAndSearchOverRpc) {
  TempDir dir;
  RunningNode node;
  ASSERT_NO_FATAL_FAILURE(start_node(dir, "", node));
  Client& c = *node.client;

  auto created = c.create_collection({"docs", 4, Metric::kL2, IndexKind::kFlat});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->config.dim, 4u);
  auto uuid = PointId::parse("0f8fad5b-d9cb-469f-a165-70867728950e");
  std::vector<PointData> points = {{PointId::number(1), {0, 0, 0, 0}, R"({"title":"zero"})"},
                                   {*uuid, {1, 1, 1, 1}, R"({"title":"ones"})"},
                                   {PointId::number(3), {5, 5, 5, 5}, ""}};
  auto written = c.upsert("docs", points);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->applied, 3u);
  EXPECT_EQ(*c.count("docs"), 3u);
  // Reads with this write's causal token see it at once; a malformed token is refused.
  EXPECT_FALSE(written->causal_token.empty());
  EXPECT_EQ(*c.count("docs", written->causal_token), 3u);
  MERIDIAN_EXPECT_CODE(c.count("docs", "not a token"), absl::StatusCode::kInvalidArgument);

  client::SearchRequest request{"docs", {0.9f, 0.9f, 0.9f, 0.9f}, 2, true, true};
  auto results = c.search(request);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 1u);
  ASSERT_EQ((*results)[0].size(), 2u);
  EXPECT_EQ((*results)[0][0].id, *uuid);
  EXPECT_NEAR((*results)[0][0].score, 0.2f, 1e-5);
  EXPECT_EQ((*results)[0][0].payload_json, R"({"title":"ones"})");
  EXPECT_EQ((*results)[0][0].vector, (std::vector<float>{1, 1, 1, 1}));
  EXPECT_EQ((*results)[0][1].id, PointId::number(1));

  std::vector<PointId> ids = {PointId::number(3), PointId::number(42)};
  auto got = c.get("docs", ids, {true, true});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].vector, (std::vector<float>{5, 5, 5, 5}));

  auto page1 = c.scroll("docs", "", 2);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->points.size(), 2u);
  ASSERT_FALSE(page1->next_cursor.empty());
  auto page2 = c.scroll("docs", page1->next_cursor, 2);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->points.size(), 1u);
  EXPECT_EQ(page2->points[0].id, *uuid);
  EXPECT_TRUE(page2->next_cursor.empty());

  auto removed = c.remove("docs", ids);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->applied, 1u);
  auto info = c.collection_info("docs");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->point_count, 2u);
  EXPECT_GT(info->stored_bytes, 0u);

  auto status = c.status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->collections, 1u);
  EXPECT_EQ(status->points, 2u);
  EXPECT_EQ(status->node_id.size(), 32u);

  MERIDIAN_ASSERT_OK(c.drop_collection("docs"));
  EXPECT_TRUE(c.list_collections()->empty());
}

TEST(DaemonTest, BadInputGetsTypedErrorsAndChangesNothing) {
  TempDir dir;
  RunningNode node;
  ASSERT_NO_FATAL_FAILURE(start_node(dir, "", node));
  Client& c = *node.client;
  ASSERT_TRUE(c.create_collection({"c", 3, Metric::kL2, IndexKind::kFlat}).ok());
  std::vector<PointData> good = {{PointId::number(1), {1, 2, 3}, ""}};
  ASSERT_TRUE(c.upsert("c", good).ok());

  auto invalid = absl::StatusCode::kInvalidArgument;
  const float nan = std::nanf("");
  auto with_bad = [&](PointData bad) {
    std::vector<PointData> batch = {{PointId::number(2), {1, 1, 1}, ""}, std::move(bad)};
    return c.upsert("c", batch);
  };
  MERIDIAN_EXPECT_CODE(with_bad({PointId::number(3), {1, 2}, ""}), invalid);
  MERIDIAN_EXPECT_CODE(with_bad({PointId::number(3), {1, nan, 2}, ""}), invalid);
  MERIDIAN_EXPECT_CODE(with_bad({PointId::number(3), {1, INFINITY, 2}, ""}), invalid);
  MERIDIAN_EXPECT_CODE(with_bad({PointId::number(3), {1, 2, 3}, "{oops"}), invalid);
  MERIDIAN_EXPECT_CODE(c.upsert("c", std::vector<PointData>{}), invalid);
  std::vector<PointData> oversized(kMaxBatchPoints + 1,
                                   PointData{PointId::number(5), {1, 1, 1}, ""});
  MERIDIAN_EXPECT_CODE(c.upsert("c", oversized), invalid);
  MERIDIAN_EXPECT_CODE(c.upsert("missing", good), absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(c.create_collection({"c", 3, Metric::kL2, IndexKind::kFlat}),
                       absl::StatusCode::kAlreadyExists);
  MERIDIAN_EXPECT_CODE(c.create_collection({"bad/name", 3, Metric::kL2, IndexKind::kFlat}),
                       invalid);
  MERIDIAN_EXPECT_CODE(c.create_collection({"zero", 0, Metric::kL2, IndexKind::kFlat}), invalid);
  MERIDIAN_EXPECT_CODE(c.search({"c", {1, 2, 3}, 0, false, false}), invalid);
  MERIDIAN_EXPECT_CODE(c.search({"c", {1, 2, 3}, 4000000000u, false, false}), invalid);
  MERIDIAN_EXPECT_CODE(c.search({"c", {1, 2}, 1, false, false}), invalid);
  MERIDIAN_EXPECT_CODE(c.search({"missing", {1, 2, 3}, 1, false, false}),
                       absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(c.scroll("c", "not-a-cursor", 10), invalid);
  MERIDIAN_EXPECT_CODE(c.drop_collection("missing"), absl::StatusCode::kNotFound);

  // Still serving, and nothing of the refused batches was written.
  auto count = c.count("c");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1u);
  auto page = c.scroll("c", "", 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->points.size(), 1u);
  EXPECT_EQ(page->points[0].id, PointId::number(1));
}

TEST(DaemonTest, AcknowledgedWritesSurviveKill9) {
  TempDir dir;
  std::string key_file = (dir.path() / "master.key").string();
  ASSERT_TRUE(crypto::write_new_key_file(key_file).ok());
  const uint32_t dim = 16;
  uint64_t acknowledged = 0;
  {
    RunningNode node;
    ASSERT_NO_FATAL_FAILURE(start_node(dir, key_file, node));
    ASSERT_TRUE(node.client->create_collection({"c", dim, Metric::kL2, IndexKind::kFlat}).ok());
    for (int batch = 0; batch < 20; ++batch) {
      auto points = grid_points(acknowledged, 100, dim);
      ASSERT_TRUE(node.client->upsert("c", points).ok());
      acknowledged += points.size();
    }
    std::vector<PointId> gone = {PointId::number(0)};
    ASSERT_TRUE(node.client->remove("c", gone).ok());
    auto exit = node.process->stop(SIGKILL, 10s);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(WIFSIGNALED(*exit));
  }
  RunningNode node;
  ASSERT_NO_FATAL_FAILURE(start_node(dir, key_file, node));
  auto count = node.client->count("c");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, acknowledged - 1);
  std::vector<PointId> ids;
  for (uint64_t i = 0; i < acknowledged; ++i) ids.push_back(PointId::number(i));
  std::vector<PointId> first_half(ids.begin(), ids.begin() + 1000);
  std::vector<PointId> second_half(ids.begin() + 1000, ids.end());
  auto expected = grid_points(1, acknowledged - 1, dim);
  std::vector<PointData> got;
  for (auto* half : {&first_half, &second_half}) {
    auto part = node.client->get("c", *half, {true, true});
    ASSERT_TRUE(part.ok()) << part.status();
    got.insert(got.end(), part->begin(), part->end());
  }
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, expected[i].id);
    EXPECT_EQ(got[i].vector, expected[i].vector);
    EXPECT_EQ(got[i].payload_json, expected[i].payload_json);
  }
}

TEST(DaemonTest, SigtermStopsCleanlyWithExitZero) {
  TempDir dir;
  RunningNode node;
  ASSERT_NO_FATAL_FAILURE(start_node(dir, "", node));
  ASSERT_TRUE(node.client->create_collection({"c", 2, Metric::kDot, IndexKind::kFlat}).ok());
  auto exit = node.process->stop(SIGTERM, 20s);
  ASSERT_TRUE(exit.has_value()) << node.process->log();
  EXPECT_TRUE(WIFEXITED(*exit));
  EXPECT_EQ(WEXITSTATUS(*exit), 0) << node.process->log();
  EXPECT_THAT(node.process->log(), ::testing::HasSubstr("stopped cleanly"));
}

TEST(DaemonTest, RefusesToStartWithoutAKeyUnlessInsecure) {
  TempDir dir;
  DaemonProcess process({"--data-dir", (dir.path() / "data").string(), "--listen", "127.0.0.1:0"},
                        dir.path() / "node.log");
  auto exit = process.wait_exit(kStartDeadline);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) != 0);
  EXPECT_THAT(process.log(), ::testing::HasSubstr("no master key"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "data.mdb"));
}

TEST(DaemonTest, WrongKeyRefusesToStartAndNamesTheExpectedKeyId) {
  TempDir dir;
  std::string key_a = (dir.path() / "a.key").string(), key_b = (dir.path() / "b.key").string();
  auto id_a = crypto::write_new_key_file(key_a);
  ASSERT_TRUE(id_a.ok());
  ASSERT_TRUE(crypto::write_new_key_file(key_b).ok());
  {
    RunningNode node;
    ASSERT_NO_FATAL_FAILURE(start_node(dir, key_a, node));
    ASSERT_TRUE(node.client->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
    ASSERT_EQ(WEXITSTATUS(*node.process->stop(SIGTERM, 20s)), 0);
  }
  auto data_file = dir.path() / "data" / "data.mdb";
  auto size_before = std::filesystem::file_size(data_file);
  DaemonProcess process(node_args(dir, key_b), dir.path() / "wrong.log");
  auto exit = process.wait_exit(kStartDeadline);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) != 0);
  EXPECT_THAT(process.log(), ::testing::HasSubstr(crypto::format_key_id(*id_a)));
  EXPECT_EQ(std::filesystem::file_size(data_file), size_before);
}

}  // namespace
}  // namespace meridian
