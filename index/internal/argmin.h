// Argmin over a short float array with SSE (defined in kmeans.cc): the assignment step of
// k-means and product-quantiser encoding, where a scalar compare-and-select chain (about 4
// cycles per element) dominated.
#pragma once

#include <cstddef>

namespace meridian::index::internal {

// Index of the smallest of s[j] + (bias ? bias[j] : 0) over j < k (k >= 1, values finite), ties
// to the smaller index; `*value` receives that minimum. Two passes: the minimum over two SSE
// registers of lanes, then the first index holding it.
size_t argmin(const float* s, const float* bias, size_t k, float* value);

}  // namespace meridian::index::internal
