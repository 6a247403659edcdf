// Exact top-k over a chosen set of points (the points a payload filter matches), for flat
// collections and for very selective filters on approximate collections.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "index/metric.h"
#include "index/top_k.h"

namespace meridian::node {

// The planner of filtered search on an approximate index: a filter matching at most
// kExactScanMaxPoints points, or under kExactScanMaxFraction of them, is answered by an exact
// scan of the matching points (a filtered HNSW traversal would walk most of the graph).
inline constexpr size_t kExactScanMaxPoints = 2000;
inline constexpr double kExactScanMaxFraction = 0.02;

inline bool prefer_exact_scan(size_t matching, size_t total) {
  return matching <= kExactScanMaxPoints ||
         static_cast<double>(matching) < kExactScanMaxFraction * static_cast<double>(total);
}

// IVF-Flat: under a filter matching a fraction s of the points, a search scans the default
// nprobe / s lists of each segment (CollectionIndex::search), so that it meets as many matches as
// an unfiltered search. Below s = kIvfExactScanMaxFraction that reads more vectors than the
// matching points themselves (the default nprobe is 1/8 of the lists: 1/8 / s > s), so the
// matching points are scanned exactly instead.
inline constexpr double kIvfExactScanMaxFraction = 0.25;

inline bool prefer_exact_scan_ivf(size_t matching, size_t total) {
  return prefer_exact_scan(matching, total) ||
         static_cast<double>(matching) < kIvfExactScanMaxFraction * static_cast<double>(total);
}

// The stored vector of the candidate at `position`, prepared as the index stores it (normalised
// to unit length under kCosine); dim floats.
using CandidateVector = absl::FunctionRef<std::span<const float>(size_t position)>;

// For each of the row-major `queries` (dim floats each, already validated), the min(k, n) best
// of the n = labels.size() candidates, best first, with the scores of index::FlatIndex (kL2
// squared distance, lower is better; kInnerProduct and kCosine higher is better; equal scores in
// label order). Under kCosine the queries are normalised here. Uses index::best_kernels().
std::vector<std::vector<index::Neighbor>> exact_top_k(index::Metric metric, uint32_t dim,
                                                      std::span<const float> queries, size_t k,
                                                      std::span<const uint64_t> labels,
                                                      CandidateVector vector_at);

}  // namespace meridian::node
