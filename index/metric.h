// Similarity metrics a collection can use, and how their scores are ordered.
#pragma once

#include <string_view>

namespace meridian::index {

// kL2: squared Euclidean distance (lower is better).
// kInnerProduct: dot product (higher is better).
// kCosine: cosine similarity in [-1, 1] (higher is better); a zero vector has similarity 0 with
// everything.
enum class Metric { kL2, kInnerProduct, kCosine };

// True when a larger score means a closer match under `metric`.
constexpr bool higher_is_better(Metric metric) { return metric != Metric::kL2; }

// Lower-case name of `metric` ("l2", "inner_product", "cosine"), for logs and benchmarks.
constexpr std::string_view metric_name(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return "l2";
    case Metric::kInnerProduct:
      return "inner_product";
    case Metric::kCosine:
      return "cosine";
  }
  return "unknown";
}

}  // namespace meridian::index
