// The shared datasets' own distance in double precision (Euclidean for l2, 1 - cos for cosine),
// used by the recall tests to apply the datasets' tie rule.
#pragma once

#include <cmath>
#include <cstddef>

#include "index/metric.h"

namespace meridian::index::testing {

inline double true_distance(Metric metric, const float* q, const float* x, size_t dim) {
  double l2 = 0, ip = 0, qq = 0, xx = 0;
  for (size_t i = 0; i < dim; ++i) {
    l2 += (static_cast<double>(q[i]) - x[i]) * (static_cast<double>(q[i]) - x[i]);
    ip += static_cast<double>(q[i]) * x[i];
    qq += static_cast<double>(q[i]) * q[i];
    xx += static_cast<double>(x[i]) * x[i];
  }
  return metric == Metric::kL2 ? std::sqrt(l2) : 1.0 - ip / std::sqrt(qq * xx);
}

}  // namespace meridian::index::testing
