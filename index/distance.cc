// Run-time choice among the kernel bodies, and the double-precision normalisation helpers.
#include "index/distance.h"

#include <cassert>
#include <cmath>

#include "index/internal/kernels.h"

namespace meridian::index {
namespace {

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f");
  }
  return false;
}

KernelSet pick_best() {
  const std::vector<Isa> isas = available_isas();
  return *kernels_for(isas.back());
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2+fma";
    case Isa::kAvx512:
      return "avx512f";
  }
  return "unknown";
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (cpu_supports(isa)) out.push_back(isa);
  }
  return out;
}

std::optional<KernelSet> kernels_for(Isa isa) {
  if (!cpu_supports(isa)) return std::nullopt;
  switch (isa) {
    case Isa::kScalar:
      return internal::scalar_kernels();
    case Isa::kAvx2:
      return internal::avx2_kernels();
    case Isa::kAvx512:
      return internal::avx512_kernels();
  }
  return std::nullopt;
}

const KernelSet& best_kernels() {
  // Immutable after its thread-safe initialisation.
  static const KernelSet kBest = pick_best();
  return kBest;
}

float l2_sqr(std::span<const float> a, std::span<const float> b) {
  assert(a.size() == b.size());
  return best_kernels().l2_sqr(a.data(), b.data(), a.size());
}

float inner_product(std::span<const float> a, std::span<const float> b) {
  assert(a.size() == b.size());
  return best_kernels().inner_product(a.data(), b.data(), a.size());
}

double norm(std::span<const float> v) {
  // Every float squared fits a double (1e-90 .. 1e77), so no scaling is needed.
  double sum = 0.0;
  for (float x : v) sum += static_cast<double>(x) * static_cast<double>(x);
  return std::sqrt(sum);
}

double normalize_in_place(std::span<float> v) {
  const double n = norm(v);
  if (n == 0.0 || !std::isfinite(n)) return n;
  const double inv = 1.0 / n;
  for (float& x : v) x = static_cast<float>(static_cast<double>(x) * inv);
  return n;
}

}  // namespace meridian::index
