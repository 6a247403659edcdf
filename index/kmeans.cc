// k-means training (sampling, Lloyd iterations, empty-cluster re-seeding) and the BLIS sgemm
// assignment step shared with IvfFlatIndex.
#include "index/kmeans.h"

#include <blis.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "index/distance.h"
#include "index/internal/argmin.h"
#include "index/quantized_distance.h"

namespace meridian::index {
namespace {

// Score buffer of one assignment block: about kScoreFloats floats (1 MiB) whatever nlist is.
constexpr size_t kScoreFloats = size_t{1} << 18;
// Dimensions up to which assign_nearest scores a row against all centroids directly, in SIMD
// lanes across centroids (the product-quantiser table kernels), instead of by BLIS sgemm: with so
// short an inner dimension sgemm is dominated by packing. Measured on Zen 4, one Lloyd iteration
// of 4,900 rows of 8 dimensions against 256 centroids: sgemm with a one-chain argmin 8.4 ms,
// tables with the eight-lane argmin 2.8 ms.
constexpr uint32_t kMaxTableDim = 16;
// Relative size of the perturbation that splits a cluster in two.
constexpr float kSplitEps = 1.0f / 1024.0f;

// splitmix64: a small, portable generator, so training does not depend on the standard
// library's distribution implementations.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, bound) for sampling; bound >= 1.
  size_t below(size_t bound) { return static_cast<size_t>(next() % bound); }

 private:
  uint64_t state_;
};

// The first `count` entries of `order` become a uniform sample of it (partial Fisher-Yates).
void partial_shuffle(std::vector<size_t>& order, size_t count, SplitMix64& rng) {
  for (size_t i = 0; i < count && i + 1 < order.size(); ++i) {
    std::swap(order[i], order[i + rng.below(order.size() - i)]);
  }
}

// Splits centroid `from` into itself and `to` by +-eps per component (alternating signs), so
// the two halves of its points separate on the next assignment.
void split_cluster(std::vector<float>& centroids, size_t dim, size_t from, size_t to) {
  float* a = centroids.data() + from * dim;
  float* b = centroids.data() + to * dim;
  for (size_t d = 0; d < dim; ++d) {
    const float delta = kSplitEps * (std::fabs(a[d]) + 1e-6f);
    const float sign = (d % 2 == 0) ? 1.0f : -1.0f;
    b[d] = a[d] + sign * delta;
    a[d] = a[d] - sign * delta;
  }
}

// assign_nearest for dim <= kMaxTableDim: centroids transposed into blocks of 256 columns, each
// row scored against a block with one table-kernel call.
void assign_by_tables(std::span<const float> vectors, uint32_t dim,
                      std::span<const float> centroids, Metric metric,
                      std::span<uint32_t> assignment, std::span<float> distances) {
  const bool l2 = metric == Metric::kL2;
  const size_t n = vectors.size() / dim;
  const size_t k = centroids.size() / dim;
  const size_t blocks = (k + kPqCentroids - 1) / kPqCentroids;
  std::vector<float> columns(blocks * kPqCentroids * dim, 0.0f);
  for (size_t j = 0; j < k; ++j) {
    float* block = columns.data() + (j / kPqCentroids) * kPqCentroids * dim;
    for (size_t d = 0; d < dim; ++d)
      block[d * kPqCentroids + j % kPqCentroids] = centroids[j * dim + d];
  }
  const QuantizedKernelSet& kernels = best_quantized_kernels();
  float table[kPqCentroids];
  for (size_t i = 0; i < n; ++i) {
    const float* x = vectors.data() + i * dim;
    size_t best = 0;
    float best_value = 0.0f;
    for (size_t b = 0; b < blocks; ++b) {
      const float* block = columns.data() + b * kPqCentroids * dim;
      if (l2) {
        kernels.pq_l2_table(x, block, dim, table);
      } else {
        kernels.pq_dot_table(x, block, dim, table);
        for (float& t : table) t = -t;  // Lower is better, as under L2.
      }
      float value;
      const size_t j =
          internal::argmin(table, nullptr, std::min(kPqCentroids, k - b * kPqCentroids), &value);
      if (b == 0 || value < best_value) {
        best_value = value;
        best = b * kPqCentroids + j;
      }
    }
    assignment[i] = static_cast<uint32_t>(best);
    if (!distances.empty()) distances[i] = best_value;
  }
}

}  // namespace

namespace internal {

size_t argmin(const float* s, const float* bias, size_t k, float* value) {
  const auto at = [&](size_t j) { return bias != nullptr ? s[j] + bias[j] : s[j]; };
  float best = at(0);
  size_t j = 0;
#if defined(__SSE__)
  if (k >= 8) {
    __m128 m0 = _mm_set1_ps(best), m1 = m0;
    for (; j + 8 <= k; j += 8) {
      __m128 a = _mm_loadu_ps(s + j), b = _mm_loadu_ps(s + j + 4);
      if (bias != nullptr) {
        a = _mm_add_ps(a, _mm_loadu_ps(bias + j));
        b = _mm_add_ps(b, _mm_loadu_ps(bias + j + 4));
      }
      m0 = _mm_min_ps(m0, a);
      m1 = _mm_min_ps(m1, b);
    }
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, _mm_min_ps(m0, m1));
    for (float lane : lanes) best = std::min(best, lane);
  }
#endif
  for (; j < k; ++j) best = std::min(best, at(j));
  *value = best;
  for (j = 0; j < k; ++j) {
    if (at(j) == best) return j;
  }
  return 0;  // Unreachable for finite values.
}

}  // namespace internal

absl::Status KMeansParams::validate() const {
  if (nlist < 1 || nlist > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("nlist ", nlist, " outside [1, 65536]"));
  }
  if (iterations < 1 || iterations > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("iterations ", iterations, " outside [1, 1000]"));
  }
  return absl::OkStatus();
}

void assign_nearest(std::span<const float> vectors, uint32_t dim, std::span<const float> centroids,
                    Metric metric, std::span<uint32_t> assignment, std::span<float> distances) {
  const bool l2 = metric == Metric::kL2;
  const size_t n = vectors.size() / dim;
  const size_t k = centroids.size() / dim;
  if (n == 0 || k == 0) return;
  if (dim <= kMaxTableDim) {
    assign_by_tables(vectors, dim, centroids, metric, assignment, distances);
    return;
  }
  std::vector<float> c_sq(l2 ? k : 0);
  for (size_t j = 0; j < c_sq.size(); ++j) {
    const double cn = norm(centroids.subspan(j * dim, dim));
    c_sq[j] = static_cast<float>(cn * cn);
  }
  const size_t block = std::clamp<size_t>(kScoreFloats / k, 1, n);
  std::vector<float> scores(block * k);
  rntm_t rntm = BLIS_RNTM_INITIALIZER;
  bli_rntm_set_num_threads(1, &rntm);
  float alpha = l2 ? -2.0f : -1.0f;  // Lower is better in both cases.
  float beta = 0.0f;
  for (size_t r0 = 0; r0 < n; r0 += block) {
    const size_t br = std::min(block, n - r0);
    const float* x = vectors.data() + r0 * dim;
    // scores (br x k, row stride k) = alpha * X_block (br x dim) * C^T (dim x k).
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, static_cast<dim_t>(br), static_cast<dim_t>(k),
                 static_cast<dim_t>(dim), &alpha, const_cast<float*>(x), static_cast<inc_t>(dim), 1,
                 const_cast<float*>(centroids.data()), static_cast<inc_t>(dim), 1, &beta,
                 scores.data(), static_cast<inc_t>(k), 1, nullptr, &rntm);
    for (size_t i = 0; i < br; ++i) {
      float best_value;
      const size_t best =
          internal::argmin(scores.data() + i * k, l2 ? c_sq.data() : nullptr, k, &best_value);
      assignment[r0 + i] = static_cast<uint32_t>(best);
      if (!distances.empty()) {
        if (l2) {
          const double xn = norm({x + i * dim, dim});
          best_value = std::max(0.0f, best_value + static_cast<float>(xn * xn));
        }
        distances[r0 + i] = best_value;
      }
    }
  }
}

absl::StatusOr<std::vector<float>> train_kmeans(std::span<const float> vectors, uint32_t dim,
                                                const KMeansParams& params, Metric metric) {
  if (absl::Status st = params.validate(); !st.ok()) return st;
  if (dim == 0 || vectors.size() % dim != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("training buffer of ", vectors.size(), " floats, dimension ", dim));
  }
  const size_t n = vectors.size() / dim;
  const size_t nlist = params.nlist;
  if (n < nlist) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means needs at least nlist = ", nlist, " points, got ", n));
  }
  for (float v : vectors) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError("training vector is not finite");
  }
  const bool spherical = metric != Metric::kL2;
  SplitMix64 rng(params.seed);

  // Training sample, copied (and normalised for spherical k-means).
  const size_t want = std::max<size_t>(nlist, params.sample == 0 ? 256 * nlist : params.sample);
  const size_t m = std::min(n, want);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (m < n) {
    partial_shuffle(order, m, rng);
    order.resize(m);
    std::sort(order.begin(), order.end());
  }
  std::vector<float> x(m * dim);
  for (size_t i = 0; i < m; ++i) {
    std::copy_n(vectors.data() + order[i] * dim, dim, x.data() + i * dim);
    if (spherical) normalize_in_place(std::span<float>(x.data() + i * dim, dim));
  }

  // Initial centroids: k-means++ seeding (each next centroid drawn with probability
  // proportional to the squared distance to the nearest one already chosen).
  const KernelSet& kernels = best_kernels();
  std::vector<float> centroids(nlist * dim);
  std::vector<float> min_dist(m), to_new(m);
  size_t chosen = rng.below(m);
  for (size_t j = 0; j < nlist; ++j) {
    const float* c = x.data() + chosen * dim;
    std::copy_n(c, dim, centroids.data() + j * dim);
    kernels.l2_sqr_rows(c, x.data(), m, dim, to_new.data());
    double total = 0;
    for (size_t i = 0; i < m; ++i) {
      min_dist[i] = j == 0 ? to_new[i] : std::min(min_dist[i], to_new[i]);
      total += min_dist[i];
    }
    if (total <= 0) {
      chosen = rng.below(m);  // Only duplicates left; empty clusters are handled below.
      continue;
    }
    double r = static_cast<double>(rng.next() >> 11) * 0x1.0p-53 * total;
    chosen = m - 1;
    for (size_t i = 0; i < m; ++i) {
      r -= min_dist[i];
      if (r < 0 && min_dist[i] > 0) {
        chosen = i;
        break;
      }
    }
  }

  std::vector<uint32_t> assign(m, 0), previous(m, UINT32_MAX);
  std::vector<float> dist(m);
  std::vector<double> sums(nlist * dim);
  std::vector<size_t> counts(nlist);
  std::vector<size_t> far(m);
  for (uint32_t it = 0; it < params.iterations; ++it) {
    assign_nearest(x, dim, centroids, metric, assign, dist);
    if (assign == previous) break;
    previous = assign;

    // Update: centroid = mean of its points (normalised when spherical).
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < m; ++i) {
      double* s = sums.data() + size_t{assign[i]} * dim;
      const float* p = x.data() + i * dim;
      for (size_t d = 0; d < dim; ++d) s[d] += p[d];
      ++counts[assign[i]];
    }
    for (size_t j = 0; j < nlist; ++j) {
      if (counts[j] == 0) continue;
      float* c = centroids.data() + j * dim;
      for (size_t d = 0; d < dim; ++d) {
        c[d] = static_cast<float>(sums[j * dim + d] / static_cast<double>(counts[j]));
      }
      if (spherical) normalize_in_place(std::span<float>(c, dim));
    }

    // Empty clusters: re-seed with the farthest points (ties by index), else split the largest.
    if (std::find(counts.begin(), counts.end(), size_t{0}) == counts.end()) continue;
    std::iota(far.begin(), far.end(), size_t{0});
    std::stable_sort(far.begin(), far.end(), [&](size_t a, size_t b) { return dist[a] > dist[b]; });
    size_t next_far = 0;
    for (size_t j = 0; j < nlist; ++j) {
      if (counts[j] != 0) continue;
      bool seeded = false;
      while (next_far < m && !seeded) {
        const size_t p = far[next_far++];
        const uint32_t home = assign[p];
        if (counts[home] < 2) continue;  // Do not empty another cluster.
        const float* xp = x.data() + p * dim;
        if (kernels.l2_sqr(xp, centroids.data() + size_t{home} * dim, dim) <= 0.0f) {
          next_far = m;  // Every remaining point sits on its centroid: nothing is far.
          break;
        }
        std::copy_n(xp, dim, centroids.data() + j * dim);
        --counts[home];
        counts[j] = 1;
        seeded = true;
      }
      if (seeded) continue;
      const size_t largest =
          static_cast<size_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
      if (counts[largest] < 2) continue;  // No cluster can give points away.
      split_cluster(centroids, dim, largest, j);
      counts[j] = counts[largest] / 2;
      counts[largest] -= counts[j];
      if (spherical) {
        normalize_in_place(std::span<float>(centroids.data() + largest * dim, dim));
        normalize_in_place(std::span<float>(centroids.data() + j * dim, dim));
      }
    }
  }
  return centroids;
}

absl::StatusOr<std::vector<float>> train_coarse_quantizer(std::span<const float> vectors,
                                                          uint32_t dim, KMeansParams params,
                                                          Metric metric, uint32_t max_lists) {
  const size_t n = dim == 0 ? 0 : vectors.size() / dim;
  if (n == 0) return absl::InvalidArgumentError("no training vectors");
  if (params.nlist == 0) {
    const double want = std::round(4.0 * std::sqrt(static_cast<double>(n)));
    params.nlist = static_cast<uint32_t>(
        std::clamp<double>(want, 1.0, static_cast<double>(std::min<size_t>(n, max_lists))));
  } else if (params.nlist > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("nlist ", params.nlist, " exceeds the ", n, " training vectors"));
  }
  return train_kmeans(vectors, dim, params, metric);
}

}  // namespace meridian::index
