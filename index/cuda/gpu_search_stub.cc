// gpu_search.h in a build without CUDA (MERIDIAN_CUDA off or no nvcc): input is checked as in the
// CUDA build, then every searcher reports Unavailable, so callers need no #ifdef.
#include "absl/strings/str_cat.h"
#include "index/cuda/gpu_input.h"
#include "index/gpu_search.h"

namespace meridian::index {
namespace {

absl::Status not_built() {
  return absl::UnavailableError("GPU search unavailable: not built with CUDA");
}

}  // namespace

bool gpu_built() { return false; }
bool gpu_available() { return false; }
std::string gpu_description() { return "not built with CUDA"; }

struct GpuFlatSearcher::Impl {};

GpuFlatSearcher::GpuFlatSearcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuFlatSearcher::~GpuFlatSearcher() = default;

absl::StatusOr<std::unique_ptr<GpuFlatSearcher>> GpuFlatSearcher::create(
    uint32_t dim, Metric metric, std::span<const uint64_t> labels, std::span<const float> vectors,
    GpuSearchOptions) {
  if (auto rows = gpu_input::rank_rows(dim, metric, labels, vectors); !rows.ok()) {
    return rows.status();
  }
  return not_built();
}

absl::StatusOr<std::vector<std::vector<Neighbor>>> GpuFlatSearcher::search(std::span<const float>,
                                                                           size_t) const {
  return not_built();
}
size_t GpuFlatSearcher::size() const { return 0; }
uint32_t GpuFlatSearcher::dim() const { return 0; }
Metric GpuFlatSearcher::metric() const { return Metric::kL2; }
size_t GpuFlatSearcher::device_bytes() const { return 0; }

struct GpuIvfFlatSearcher::Impl {};

GpuIvfFlatSearcher::GpuIvfFlatSearcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuIvfFlatSearcher::~GpuIvfFlatSearcher() = default;

absl::StatusOr<std::unique_ptr<GpuIvfFlatSearcher>> GpuIvfFlatSearcher::create(
    const IvfFlatIndex& index, GpuSearchOptions) {
  if (!index.is_trained()) return absl::InvalidArgumentError("the IVF-Flat index is not trained");
  if (index.params().quantization != Quantization::kNone) {
    return absl::InvalidArgumentError("GPU IVF scanning takes float32 lists only, not SQ8");
  }
  return not_built();
}

absl::StatusOr<std::vector<std::vector<Neighbor>>> GpuIvfFlatSearcher::search(
    std::span<const float>, size_t, size_t) const {
  return not_built();
}
size_t GpuIvfFlatSearcher::size() const { return 0; }
uint32_t GpuIvfFlatSearcher::nlist() const { return 0; }
size_t GpuIvfFlatSearcher::device_bytes() const { return 0; }

}  // namespace meridian::index
