// The daemon's --gpu setting (auto | on | off) and its start-up decision: whether batched exact
// searches of flat collections run on the GPU (docs/gpu.md).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace meridian::node {

enum class GpuMode { kAuto, kOn, kOff };

// "auto", "on" or "off"; InvalidArgument otherwise.
absl::StatusOr<GpuMode> parse_gpu_mode(const std::string& text);
std::string_view gpu_mode_name(GpuMode mode);

// What the node does with a GPU, decided once at start (NodeOptions::gpu).
struct GpuSearchPolicy {
  bool enabled = false;
  // A flat collection's search goes to the GPU when it has at least this many queries and the
  // collection at least this many points (below that, the upload and launch overheads are not
  // repaid); otherwise, and for filtered searches, it stays on the CPU.
  size_t min_queries = 16;
  size_t min_points = 4096;
};

// Resolves `mode` against the machine: kOff gives a disabled policy and logs nothing; kAuto
// enables it when `gpu_available`, else logs exactly one line through `log` saying the node
// searches on the CPU and why (`description`, index::gpu_description()); kOn enables it, or fails
// with FailedPrecondition naming the reason when there is no GPU. An enabled policy logs one line
// naming the device.
absl::StatusOr<GpuSearchPolicy> resolve_gpu_mode(GpuMode mode, bool gpu_available,
                                                 const std::string& description,
                                                 const std::function<void(std::string_view)>& log);

// resolve_gpu_mode against this process's CUDA devices (index::gpu_available()).
absl::StatusOr<GpuSearchPolicy> resolve_gpu_mode(GpuMode mode,
                                                 const std::function<void(std::string_view)>& log);

}  // namespace meridian::node
