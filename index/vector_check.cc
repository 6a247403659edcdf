// Vector validation shared by the indexes; see vector_check.h.
#include "index/vector_check.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "index/distance.h"

namespace meridian::index {

absl::Status check_vector(std::span<const float> v, uint32_t dim) {
  if (v.size() != dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("vector has ", v.size(), " components, index dimension is ", dim));
  }
  for (float x : v) {
    if (!std::isfinite(x)) return absl::InvalidArgumentError("vector has a non-finite component");
  }
  if (norm(v) > kMaxVectorNorm) {
    return absl::InvalidArgumentError(absl::StrCat("vector norm exceeds ", kMaxVectorNorm));
  }
  return absl::OkStatus();
}

}  // namespace meridian::index
