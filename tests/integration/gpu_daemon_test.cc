// End-to-end tests of meridiand's --gpu setting with a real process: auto serves batched searches
// of a flat collection (on the GPU where there is one, else on the CPU) and logs exactly one
// "gpu:" line; on refuses to start without a GPU before touching the data directory; off says
// nothing about GPUs.
#include <signal.h>
#include <sys/wait.h>

#include <random>
#include <sstream>

#include "client/client.h"
#include "index/gpu_search.h"
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

std::vector<std::string> node_args(const TempDir& dir, const std::string& gpu) {
  return {"--data-dir",
          (dir.path() / "data").string(),
          "--listen",
          "127.0.0.1:0",
          "--insecure-no-encryption",
          "--gpu",
          gpu};
}

size_t count_lines_with(const std::string& log, const std::string& needle) {
  std::istringstream in(log);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

TEST(GpuDaemonTest, AutoServesBatchedFlatSearchesAndLogsOneGpuLine) {
  TempDir dir;
  DaemonProcess process(node_args(dir, "auto"), dir.path() / "node.log");
  auto address = process.wait_listening(kStartDeadline);
  ASSERT_TRUE(address.has_value()) << process.log();
  auto c = Client::connect(*address);
  ASSERT_TRUE(c.ok()) << c.status();
  const uint32_t dim = 16;
  ASSERT_TRUE((*c)->create_collection({"docs", dim, Metric::kL2, IndexKind::kFlat}).ok());
  // Enough points and queries for the GPU policy (4096 points, 16 queries) to apply.
  const size_t n = 5000;
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<PointData> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::number(i + 1);
    for (uint32_t d = 0; d < dim; ++d) points[i].vector.push_back(g(rng));
  }
  for (size_t b = 0; b < n; b += 500) {
    std::vector<PointData> batch(points.begin() + b, points.begin() + std::min(n, b + 500));
    ASSERT_TRUE((*c)->upsert("docs", batch).ok());
  }
  client::SearchRequest request{"docs", {}, 5};
  for (size_t q = 0; q < 32; ++q) {
    const auto& v = points[q * 97].vector;
    request.queries.insert(request.queries.end(), v.begin(), v.end());
  }
  auto results = (*c)->search(request);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 32u);
  for (size_t q = 0; q < 32; ++q) {
    ASSERT_EQ((*results)[q].size(), 5u);
    EXPECT_EQ((*results)[q][0].id, PointId::number(q * 97 + 1)) << "query " << q;
    EXPECT_NEAR((*results)[q][0].score, 0.0f, 1e-2);
  }
  const std::string log = process.log();
  EXPECT_EQ(count_lines_with(log, " gpu: "), 1u) << log;
  if (index::gpu_available()) {
    EXPECT_EQ(count_lines_with(log, "run on"), 1u) << log;
  } else {
    EXPECT_EQ(count_lines_with(log, "searching on the CPU"), 1u) << log;
  }
}

TEST(GpuDaemonTest, OnWithoutAGpuRefusesToStart) {
  if (index::gpu_available()) GTEST_SKIP() << "a GPU is present: " << index::gpu_description();
  TempDir dir;
  DaemonProcess process(node_args(dir, "on"), dir.path() / "node.log");
  auto exit = process.wait_exit(kStartDeadline);
  ASSERT_TRUE(exit.has_value()) << process.log();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) != 0);
  EXPECT_THAT(process.log(), ::testing::HasSubstr("--gpu on, but GPU search is unavailable"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "data.mdb"));
}

TEST(GpuDaemonTest, OffSaysNothingAboutGpus) {
  TempDir dir;
  DaemonProcess process(node_args(dir, "off"), dir.path() / "node.log");
  auto address = process.wait_listening(kStartDeadline);
  ASSERT_TRUE(address.has_value()) << process.log();
  auto stopped = process.stop(SIGTERM, kStartDeadline);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(count_lines_with(process.log(), " gpu: "), 0u) << process.log();
}

}  // namespace
}  // namespace meridian
