// SQ8 scalar quantiser: per-dimension [min, max] ranges trained on a sample, one uint8 code per
// dimension (4x smaller than float32), and the query preparation for asymmetric distances
// (float query against a code) computed by the kernels of quantized_distance.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace meridian::index {

// How an index stores the vectors its traversal or scan reads. kNone: float32. kSq8: one uint8
// code per dimension (ScalarQuantizer), with the float32 vectors kept in a separate re-rank store
// that re-scores each search's best candidates.
enum class Quantization : uint32_t { kNone = 0, kSq8 = 1 };

// "none" or "sq8", for logs and benchmarks.
std::string_view quantization_name(Quantization quantization);

// Maps dimension i of a vector to code round((x - min[i]) / scale[i]) in [0, 255], with
// scale[i] = (max[i] - min[i]) / 255, and back to min[i] + scale[i] * code. Values outside the
// trained range saturate at 0 or 255; a constant dimension (max == min) has scale 0, code 0 and
// decodes exactly. Immutable once built, so const methods are thread-safe.
class ScalarQuantizer {
 public:
  // Untrained (dim() == 0); only assignment from train() or from_ranges() makes it usable.
  ScalarQuantizer() = default;

  // Per-dimension min and max over the n = vectors.size() / dim row-major rows, each normalised
  // to unit length first when `normalize` (cosine indexes; a zero row is used as is).
  // InvalidArgument: dim == 0, n == 0, vectors.size() not a multiple of dim, or a non-finite
  // component.
  static absl::StatusOr<ScalarQuantizer> train(std::span<const float> vectors, uint32_t dim,
                                               bool normalize = false);

  // Rebuilds a quantiser from stored ranges (decoders). InvalidArgument unless
  // min.size() == scale.size() >= 1, every value is finite, scale >= 0 and min + 255 * scale is
  // finite.
  static absl::StatusOr<ScalarQuantizer> from_ranges(std::vector<float> min,
                                                     std::vector<float> scale);

  uint32_t dim() const { return static_cast<uint32_t>(min_.size()); }
  bool is_trained() const { return !min_.empty(); }
  std::span<const float> min() const { return min_; }
  std::span<const float> scale() const { return scale_; }
  size_t memory_bytes() const { return (min_.capacity() + scale_.capacity()) * sizeof(float); }

  // Encodes the dim() floats at `x` into dim() bytes at `code`.
  void encode(const float* x, uint8_t* code) const;
  // Decodes dim() bytes at `code` into dim() floats at `x`.
  void decode(const uint8_t* code, float* x) const;

  // Prepares `query` for QuantizedKernelSet::sq8_l2_sqr: qm[i] = query[i] - min[i].
  void prepare_l2(const float* query, float* qm) const;
  // Prepares `query` for QuantizedKernelSet::sq8_dot: qs[i] = query[i] * scale[i]. Returns the
  // bias <query, min>, to add to sq8_dot for the inner product with the decoded vector.
  float prepare_dot(const float* query, float* qs) const;

 private:
  ScalarQuantizer(std::vector<float> min, std::vector<float> scale)
      : min_(std::move(min)), scale_(std::move(scale)) {}

  std::vector<float> min_;
  std::vector<float> scale_;
};

}  // namespace meridian::index
