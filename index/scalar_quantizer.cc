// SQ8 training (per-dimension ranges), encoding and query preparation; see scalar_quantizer.h.
#include "index/scalar_quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "index/distance.h"

namespace meridian::index {

std::string_view quantization_name(Quantization quantization) {
  switch (quantization) {
    case Quantization::kNone:
      return "none";
    case Quantization::kSq8:
      return "sq8";
  }
  return "unknown";
}

absl::StatusOr<ScalarQuantizer> ScalarQuantizer::train(std::span<const float> vectors, uint32_t dim,
                                                       bool normalize) {
  if (dim == 0 || vectors.empty() || vectors.size() % dim != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sq8 training buffer of ", vectors.size(), " floats for dimension ", dim));
  }
  std::vector<float> lo(dim, std::numeric_limits<float>::infinity());
  std::vector<float> hi(dim, -std::numeric_limits<float>::infinity());
  std::vector<float> row(dim);
  for (size_t r = 0; r < vectors.size() / dim; ++r) {
    std::copy_n(vectors.data() + r * dim, dim, row.data());
    for (float x : row) {
      if (!std::isfinite(x)) return absl::InvalidArgumentError("sq8 training vector not finite");
    }
    if (normalize) normalize_in_place(std::span<float>(row));
    for (uint32_t i = 0; i < dim; ++i) {
      lo[i] = std::min(lo[i], row[i]);
      hi[i] = std::max(hi[i], row[i]);
    }
  }
  std::vector<float> scale(dim);
  for (uint32_t i = 0; i < dim; ++i) {
    // In double: max - min of two large floats of opposite signs could round badly in float.
    scale[i] = static_cast<float>((static_cast<double>(hi[i]) - lo[i]) / 255.0);
  }
  return ScalarQuantizer(std::move(lo), std::move(scale));
}

absl::StatusOr<ScalarQuantizer> ScalarQuantizer::from_ranges(std::vector<float> min,
                                                             std::vector<float> scale) {
  if (min.empty() || min.size() != scale.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sq8 ranges: ", min.size(), " minima and ", scale.size(), " scales"));
  }
  for (size_t i = 0; i < min.size(); ++i) {
    const double top = static_cast<double>(min[i]) + 255.0 * static_cast<double>(scale[i]);
    if (!std::isfinite(min[i]) || !std::isfinite(scale[i]) || !(scale[i] >= 0.0f) ||
        !(std::fabs(top) <= std::numeric_limits<float>::max())) {
      return absl::InvalidArgumentError(absl::StrCat("sq8 range of dimension ", i, " is invalid"));
    }
  }
  return ScalarQuantizer(std::move(min), std::move(scale));
}

void ScalarQuantizer::encode(const float* x, uint8_t* code) const {
  for (size_t i = 0; i < min_.size(); ++i) {
    // Double keeps (x - min) exact enough and makes a tiny (denormal) scale saturate instead of
    // overflowing; scale 0 (constant dimension) gives code 0.
    const double t = scale_[i] > 0.0f
                         ? (static_cast<double>(x[i]) - min_[i]) / static_cast<double>(scale_[i])
                         : 0.0;
    code[i] = static_cast<uint8_t>(t <= 0.0 ? 0.0 : t >= 255.0 ? 255.0 : std::nearbyint(t));
  }
}

void ScalarQuantizer::decode(const uint8_t* code, float* x) const {
  for (size_t i = 0; i < min_.size(); ++i) x[i] = min_[i] + scale_[i] * static_cast<float>(code[i]);
}

void ScalarQuantizer::prepare_l2(const float* query, float* qm) const {
  for (size_t i = 0; i < min_.size(); ++i) qm[i] = query[i] - min_[i];
}

float ScalarQuantizer::prepare_dot(const float* query, float* qs) const {
  double bias = 0.0;
  for (size_t i = 0; i < min_.size(); ++i) {
    qs[i] = query[i] * scale_[i];
    bias += static_cast<double>(query[i]) * min_[i];
  }
  return static_cast<float>(bias);
}

}  // namespace meridian::index
