// Input checks and preparation for the GPU searchers; see gpu_input.h.
#include "index/cuda/gpu_input.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "index/distance.h"
#include "index/gpu_search.h"
#include "index/vector_check.h"

namespace meridian::index::gpu_input {

absl::StatusOr<RankedRows> rank_rows(uint32_t dim, Metric metric, std::span<const uint64_t> labels,
                                     std::span<const float> vectors) {
  if (dim == 0) return absl::InvalidArgumentError("dimension must be at least 1");
  const size_t n = labels.size();
  if (vectors.size() != n * dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(vectors.size(), " floats for ", n, " vectors of dimension ", dim));
  }
  // Ranks travel in the low 32 bits of a candidate key, and ~0u marks padding.
  if (n >= uint64_t{0xffffffff}) {
    return absl::InvalidArgumentError(absl::StrCat("too many vectors for the GPU: ", n));
  }
  if (absl::Status s = check_vectors(vectors, dim); !s.ok()) return s;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return labels[a] < labels[b]; });
  RankedRows out;
  out.labels.resize(n);
  out.vectors.resize(vectors.size());
  for (size_t r = 0; r < n; ++r) {
    out.labels[r] = labels[order[r]];
    if (r > 0 && out.labels[r] == out.labels[r - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("label ", out.labels[r], " appears twice"));
    }
    std::span<float> row(out.vectors.data() + r * dim, dim);
    std::copy_n(vectors.data() + order[r] * dim, dim, row.data());
    if (metric == Metric::kCosine) normalize_in_place(row);
  }
  return out;
}

absl::StatusOr<std::vector<float>> prepare_queries(std::span<const float> queries, uint32_t dim,
                                                   Metric metric) {
  if (queries.size() % dim != 0) {
    return absl::InvalidArgumentError(absl::StrCat("query buffer of ", queries.size(),
                                                   " floats is not a multiple of dimension ", dim));
  }
  const size_t nq = queries.size() / dim;
  for (size_t i = 0; i < nq; ++i) {
    if (absl::Status s = check_vector(queries.subspan(i * dim, dim), dim); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query ", i, ": ", s.message()));
    }
  }
  std::vector<float> out(queries.begin(), queries.end());
  if (metric == Metric::kCosine) {
    for (size_t i = 0; i < nq; ++i) normalize_in_place(std::span<float>(out.data() + i * dim, dim));
  }
  return out;
}

absl::Status check_k(size_t k) {
  if (k > kGpuMaxK) {
    return absl::InvalidArgumentError(
        absl::StrCat("k = ", k, " is above the GPU's limit of ", kGpuMaxK));
  }
  return absl::OkStatus();
}

}  // namespace meridian::index::gpu_input
