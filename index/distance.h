// Float32 distance kernels (squared L2, inner product) with scalar, AVX2/FMA and AVX-512F bodies,
// one chosen at run time, plus the normalisation helpers cosine similarity is built on.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace meridian::index {

// Instruction-set paths a kernel body exists for.
enum class Isa { kScalar, kAvx2, kAvx512 };

std::string_view isa_name(Isa isa);

// One consistent set of kernel bodies. All pointers are non-null. Every function reads
// `dim` floats per vector (dim may be 0, giving 0). Within one KernelSet, the per-pair functions
// and the per-row results of the `*_rows` functions are bit-identical for the same inputs, so a
// score does not depend on which entry point computed it.
struct KernelSet {
  Isa isa;
  // sum_i (a[i] - b[i])^2
  float (*l2_sqr)(const float* a, const float* b, size_t dim);
  // sum_i a[i] * b[i]
  float (*inner_product)(const float* a, const float* b, size_t dim);
  // out[r] = l2_sqr(query, rows + r * dim, dim) for r in [0, n_rows).
  void (*l2_sqr_rows)(const float* query, const float* rows, size_t n_rows, size_t dim, float* out);
  // out[r] = inner_product(query, rows + r * dim, dim) for r in [0, n_rows).
  void (*inner_product_rows)(const float* query, const float* rows, size_t n_rows, size_t dim,
                             float* out);
};

// The paths this CPU (and OS) can run, kScalar first, fastest last.
std::vector<Isa> available_isas();

// The kernels for `isa`, or nullopt when this CPU cannot run that path. For tests and benchmarks.
std::optional<KernelSet> kernels_for(Isa isa);

// The fastest available kernel set; chosen once per process on first use.
const KernelSet& best_kernels();

// Convenience wrappers over best_kernels(). Precondition: a.size() == b.size().
float l2_sqr(std::span<const float> a, std::span<const float> b);
float inner_product(std::span<const float> a, std::span<const float> b);

// Euclidean norm, accumulated in double so that denormal and huge (~1e30) components neither
// underflow nor overflow. Infinite or NaN components give an infinite or NaN result.
double norm(std::span<const float> v);

// Scales `v` to unit length and returns its norm before scaling. A zero vector (or one with a
// non-finite norm) is left unchanged; a zero vector then has cosine similarity 0 with anything.
double normalize_in_place(std::span<float> v);

}  // namespace meridian::index
