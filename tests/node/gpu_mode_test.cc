// Tests of --gpu: parsing (flag and config file), the start-up decision and its single log line,
// simulated with and without a GPU and for real on this machine.
#include "node/gpu_mode.h"

#include <fstream>

#include "index/gpu_search.h"
#include "node/daemon_config.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

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

}  // namespace
}  // namespace meridian::node
