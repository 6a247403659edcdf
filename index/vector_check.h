// The one check every index applies to a vector or query before using it: right dimension,
// finite components, and a norm small enough that no score (GEMM expansion included) overflows.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace meridian::index {

inline constexpr double kMaxVectorNorm = 1e18;

// InvalidArgument naming what is wrong; OK otherwise.
absl::Status check_vector(std::span<const float> v, uint32_t dim);

// check_vector for each row of a row-major batch. InvalidArgument naming the first bad row, or a
// buffer that is not a multiple of dim (dim >= 1).
absl::Status check_vectors(std::span<const float> vectors, uint32_t dim);

}  // namespace meridian::index
