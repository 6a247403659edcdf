// Run-time choice among the quantised-code kernel bodies (same CPU checks as distance.cc).
#include "index/quantized_distance.h"

#include "index/internal/quantized_kernels.h"

namespace meridian::index {

std::optional<QuantizedKernelSet> quantized_kernels_for(Isa isa) {
  if (!kernels_for(isa).has_value()) return std::nullopt;  // The CPU lacks this path.
  switch (isa) {
    case Isa::kScalar:
      return internal::scalar_quantized_kernels();
    case Isa::kAvx2:
      return internal::avx2_quantized_kernels();
    case Isa::kAvx512:
      return internal::avx512_quantized_kernels();
  }
  return std::nullopt;
}

const QuantizedKernelSet& best_quantized_kernels() {
  // Immutable after its thread-safe initialisation.
  static const QuantizedKernelSet kBest = *quantized_kernels_for(best_kernels().isa);
  return kBest;
}

}  // namespace meridian::index
