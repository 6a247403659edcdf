// Tests of the node's GPU glue: --gpu parsing (flag and config file), the start-up decision and
// its single log line, and a flat collection's search with the GPU policy on. Without a GPU (this
// build machine, CI) the fallback is what runs: the CPU answers, bit for bit as with the policy
// off; on a GPU the same tests check the device copy against the CPU and its refresh after writes.
#include "node/gpu_mode.h"

#include <fstream>
#include <random>

#include "index/gpu_search.h"
#include "node/collection_index.h"
#include "node/daemon_config.h"
#include "node/gpu_flat_mirror.h"
#include "node/growing_segment.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

std::vector<float> random_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * dim);
  for (float& x : out) x = g(rng);
  return out;
}

struct CapturedLog {
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

TEST(GpuModeTest, ParsesAutoOnOffAndRejectsTheRest) {
  EXPECT_EQ(*parse_gpu_mode("auto"), GpuMode::kAuto);
  EXPECT_EQ(*parse_gpu_mode("on"), GpuMode::kOn);
  EXPECT_EQ(*parse_gpu_mode("off"), GpuMode::kOff);
  auto bad = parse_gpu_mode("yes");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("auto, on or off"), std::string::npos);
  for (GpuMode m : {GpuMode::kAuto, GpuMode::kOn, GpuMode::kOff}) {
    EXPECT_EQ(*parse_gpu_mode(std::string(gpu_mode_name(m))), m);
  }
}

TEST(GpuModeTest, DaemonFlagAndConfigFile) {
  auto defaults = parse_daemon_args({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->gpu, GpuMode::kAuto);
  meridian::testing::TempDir dir;
  auto path = (dir.path() / "meridian.conf").string();
  std::ofstream(path) << "gpu = off\n";
  auto from_file = parse_daemon_args({"--config", path});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->gpu, GpuMode::kOff);
  auto flag_wins = parse_daemon_args({"--config", path, "--gpu", "on"});
  ASSERT_TRUE(flag_wins.ok());
  EXPECT_EQ(flag_wins->gpu, GpuMode::kOn);
  auto bad = parse_daemon_args({"--gpu=maybe"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("gpu"), std::string::npos);
  EXPECT_NE(std::string(daemon_usage()).find("--gpu auto|on|off"), std::string::npos);
}

TEST(GpuModeTest, AutoWithoutGpuFallsBackAndSaysSoOnce) {
  CapturedLog log;
  auto policy = resolve_gpu_mode(GpuMode::kAuto, false, "no CUDA device found (x)", log.sink());
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->enabled);
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0], "gpu: no CUDA device found (x); searching on the CPU");
}

TEST(GpuModeTest, OnWithoutGpuIsAStartupError) {
  CapturedLog log;
  auto policy = resolve_gpu_mode(GpuMode::kOn, false, "not built with CUDA", log.sink());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(policy.status().message().find("not built with CUDA"), std::string::npos);
  EXPECT_TRUE(log.lines.empty());
}

TEST(GpuModeTest, OffNeverLogsAndAutoOrOnWithGpuEnable) {
  CapturedLog log;
  auto off = resolve_gpu_mode(GpuMode::kOff, true, "H100", log.sink());
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled);
  EXPECT_TRUE(log.lines.empty());
  for (GpuMode m : {GpuMode::kAuto, GpuMode::kOn}) {
    auto on = resolve_gpu_mode(m, true, "H100", log.sink());
    ASSERT_TRUE(on.ok());
    EXPECT_TRUE(on->enabled);
  }
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_NE(log.lines[0].find("H100"), std::string::npos);
}

// The decision against this machine: on one without a GPU (the build machine, CI) auto must fall
// back with exactly one line and on must refuse to start.
TEST(GpuModeTest, ThisMachine) {
  CapturedLog log;
  auto policy = resolve_gpu_mode(GpuMode::kAuto, log.sink());
  ASSERT_TRUE(policy.ok());
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(policy->enabled, index::gpu_available());
  auto on = resolve_gpu_mode(GpuMode::kOn, log.sink());
  if (index::gpu_available()) {
    EXPECT_TRUE(on.ok());
  } else {
    EXPECT_NE(log.lines[0].find("searching on the CPU"), std::string::npos) << log.lines[0];
    EXPECT_EQ(on.status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

// A growing segment with the GPU policy on answers like one with it off: identically on the CPU
// fallback, up to float rounding on a GPU; after writes the GPU copy is refreshed.
TEST(GpuModeTest, GrowingSegmentWithGpuPolicyMatchesTheCpu) {
  const uint32_t dim = 20;
  const size_t n = 600;
  GpuSearchPolicy policy{.enabled = true, .min_queries = 2, .min_points = 1};
  GrowingSegment gpu(dim, index::Metric::kL2, policy);
  GrowingSegment cpu(dim, index::Metric::kL2);
  auto vectors = random_vectors(n, dim, 1);
  for (size_t i = 0; i < n; ++i) {
    std::span<const float> v(vectors.data() + i * dim, dim);
    ASSERT_TRUE(gpu.add(i * 3 + 1, PointId::number(i), v).ok());
    ASSERT_TRUE(cpu.add(i * 3 + 1, PointId::number(i), v).ok());
  }
  auto queries = random_vectors(8, dim, 2);
  auto check = [&] {
    auto want = cpu.search(queries, 10, nullptr);
    auto got = gpu.search(queries, 10, nullptr);
    ASSERT_TRUE(want.ok());
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(want->size(), got->size());
    for (size_t q = 0; q < want->size(); ++q) {
      ASSERT_EQ((*want)[q].size(), (*got)[q].size());
      for (size_t i = 0; i < (*want)[q].size(); ++i) {
        if (!index::gpu_available()) {
          EXPECT_EQ((*want)[q][i], (*got)[q][i]);  // the CPU path itself
        } else {
          EXPECT_NEAR((*want)[q][i].score, (*got)[q][i].score,
                      1e-3 + 1e-4 * std::fabs((*want)[q][i].score));
        }
      }
    }
  };
  check();
  // Writes after the copy was made: the next search must see them.
  for (uint64_t label : {1u, 4u, 7u}) {
    ASSERT_TRUE(gpu.remove(label));
    ASSERT_TRUE(cpu.remove(label));
  }
  std::vector<float> close(dim, 0.0f);
  ASSERT_TRUE(gpu.add(99999, PointId::number(99999), close).ok());
  ASSERT_TRUE(cpu.add(99999, PointId::number(99999), close).ok());
  check();
  // Bad queries get the CPU path's error either way.
  std::vector<float> bad(dim * 2, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(gpu.search(bad, 10, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GpuModeTest, MirrorLeavesSmallSearchesToTheCpu) {
  GpuFlatMirror mirror(4, index::Metric::kL2,
                       GpuSearchPolicy{.enabled = true, .min_queries = 4, .min_points = 10});
  bool snapshot_taken = false;
  auto snapshot = [&](std::vector<uint64_t>& labels, std::vector<float>& vectors) {
    snapshot_taken = true;
    labels = {1, 2};
    vectors = {1, 0, 0, 0, 0, 1, 0, 0};
  };
  std::vector<float> three_queries(12, 1.0f);
  std::vector<float> four_queries(16, 1.0f);
  EXPECT_FALSE(mirror.search(three_queries, 1, 100, snapshot).has_value());
  EXPECT_FALSE(mirror.search(four_queries, 1, 9, snapshot).has_value());
  EXPECT_FALSE(mirror.search(four_queries, index::kGpuMaxK + 1, 100, snapshot).has_value());
  EXPECT_FALSE(snapshot_taken);  // nothing uploaded for searches the CPU keeps
  auto big = mirror.search(four_queries, 1, 100, snapshot);
  EXPECT_EQ(big.has_value(), index::gpu_available());
  EXPECT_EQ(mirror.gpu_searches(), index::gpu_available() ? 1u : 0u);
}

}  // namespace
}  // namespace meridian::node
