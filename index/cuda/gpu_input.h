// The checks and host-side preparation shared by the CUDA and the stub builds of gpu_search.h, so
// both reject the same bad input with the same messages before anything reaches a device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "index/metric.h"

namespace meridian::index::gpu_input {

// Stored vectors as the GPU keeps them: sorted by label, so a row's position is its rank and
// equal scores resolve to the smaller label.
struct RankedRows {
  std::vector<uint64_t> labels;  // ascending
  std::vector<float> vectors;    // row-major in that order, normalised under kCosine
};

// Validates and sorts an upload (see GpuFlatSearcher::create for the errors).
absl::StatusOr<RankedRows> rank_rows(uint32_t dim, Metric metric, std::span<const uint64_t> labels,
                                     std::span<const float> vectors);

// Validates queries (InvalidArgument "query i: ..." or a buffer not a multiple of dim) and returns
// a copy, each normalised under kCosine (a zero query stays zero).
absl::StatusOr<std::vector<float>> prepare_queries(std::span<const float> queries, uint32_t dim,
                                                   Metric metric);

// InvalidArgument unless k <= kGpuMaxK.
absl::Status check_k(size_t k);

}  // namespace meridian::index::gpu_input
