// Exact top-k over candidate points; see filtered_scan.h.
#include "node/filtered_scan.h"

#include "index/distance.h"

namespace meridian::node {

std::vector<std::vector<index::Neighbor>> exact_top_k(index::Metric metric, uint32_t dim,
                                                      std::span<const float> queries, size_t k,
                                                      std::span<const uint64_t> labels,
                                                      CandidateVector vector_at) {
  const index::KernelSet& kernels = index::best_kernels();
  const size_t nq = queries.size() / dim;
  std::vector<std::vector<index::Neighbor>> out(nq);
  index::TopK top(k, index::higher_is_better(metric));
  std::vector<float> query(dim);
  for (size_t q = 0; q < nq; ++q) {
    query.assign(queries.begin() + static_cast<ptrdiff_t>(q * dim),
                 queries.begin() + static_cast<ptrdiff_t>((q + 1) * dim));
    if (metric == index::Metric::kCosine) index::normalize_in_place(query);
    top.reset();
    for (size_t i = 0; i < labels.size(); ++i) {
      std::span<const float> v = vector_at(i);
      if (v.size() != dim) continue;  // not stored (cannot happen for live labels)
      float score = metric == index::Metric::kL2
                        ? kernels.l2_sqr(query.data(), v.data(), dim)
                        : kernels.inner_product(query.data(), v.data(), dim);
      top.push(labels[i], score);
    }
    top.take_sorted(out[q]);
  }
  return out;
}

}  // namespace meridian::node
