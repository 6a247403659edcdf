// --gpu parsing and the start-up GPU decision; see gpu_mode.h.
#include "node/gpu_mode.h"

#include "absl/strings/str_cat.h"
#include "index/gpu_search.h"

namespace meridian::node {

absl::StatusOr<GpuMode> parse_gpu_mode(const std::string& text) {
  if (text == "auto") return GpuMode::kAuto;
  if (text == "on") return GpuMode::kOn;
  if (text == "off") return GpuMode::kOff;
  return absl::InvalidArgumentError(
      absl::StrCat("gpu: expected auto, on or off, got '", text, "'"));
}

std::string_view gpu_mode_name(GpuMode mode) {
  switch (mode) {
    case GpuMode::kAuto:
      return "auto";
    case GpuMode::kOn:
      return "on";
    case GpuMode::kOff:
      return "off";
  }
  return "unknown";
}

absl::StatusOr<GpuSearchPolicy> resolve_gpu_mode(GpuMode mode, bool gpu_available,
                                                 const std::string& description,
                                                 const std::function<void(std::string_view)>& log) {
  GpuSearchPolicy policy;
  if (mode == GpuMode::kOff) return policy;
  if (!gpu_available) {
    if (mode == GpuMode::kOn) {
      return absl::FailedPreconditionError(
          absl::StrCat("--gpu on, but GPU search is unavailable: ", description));
    }
    log(absl::StrCat("gpu: ", description, "; searching on the CPU"));
    return policy;
  }
  policy.enabled = true;
  log(absl::StrCat("gpu: batched exact searches of flat collections run on ", description));
  return policy;
}

absl::StatusOr<GpuSearchPolicy> resolve_gpu_mode(GpuMode mode,
                                                 const std::function<void(std::string_view)>& log) {
  if (mode == GpuMode::kOff) return GpuSearchPolicy{};
  return resolve_gpu_mode(mode, index::gpu_available(), index::gpu_description(), log);
}

}  // namespace meridian::node
