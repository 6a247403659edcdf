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

absl::Status check_vectors(std::span<const float> vectors, uint32_t dim) {
  if (vectors.size() % dim != 0) {
    return absl::InvalidArgumentError(absl::StrCat("vector buffer of ", vectors.size(),
                                                   " floats is not a multiple of dimension ", dim));
  }
  for (size_t i = 0; i < vectors.size() / dim; ++i) {
    if (absl::Status st = check_vector(vectors.subspan(i * dim, dim), dim); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("vector ", i, ": ", st.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace meridian::index
