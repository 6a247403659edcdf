// Recall computation; the per-query loop is shared by the plain and the tie-tolerant forms.
#include "cli/recall.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace meridian::cli {
namespace {

absl::Status check_shapes(const IntMatrix& results, const IntMatrix& ground_truth, uint32_t k) {
  if (k == 0) return absl::InvalidArgumentError("k must be at least 1");
  if (results.rows() == 0) return absl::InvalidArgumentError("results are empty");
  if (results.rows() > ground_truth.rows()) {
    return absl::InvalidArgumentError(absl::StrCat("results have ", results.rows(),
                                                   " queries but the ground truth only ",
                                                   ground_truth.rows()));
  }
  if (ground_truth.dim < k) {
    return absl::InvalidArgumentError(absl::StrCat("ground truth has only ", ground_truth.dim,
                                                   " neighbours per query, fewer than k = ", k));
  }
  return absl::OkStatus();
}

// Recall over all queries. `tie_distances` is null for plain recall.
struct TieDistances {
  const FloatMatrix& results;
  const FloatMatrix& ground_truth;
};

double recall(const IntMatrix& results, const IntMatrix& ground_truth, uint32_t k,
              const TieDistances* ties) {
  uint64_t hits = 0;
  std::vector<int32_t> truth;
  std::vector<int32_t> seen;
  for (size_t q = 0; q < results.rows(); ++q) {
    auto truth_row = ground_truth.row(q).first(k);
    truth.assign(truth_row.begin(), truth_row.end());
    std::sort(truth.begin(), truth.end());
    const double threshold =
        ties == nullptr
            ? 0
            : static_cast<double>(ties->ground_truth.row(q)[k - 1]) * (1 + kTieRelativeSlack) +
                  kTieAbsoluteSlack;
    const size_t returned = std::min<size_t>(k, results.dim);
    auto result_row = results.row(q);
    seen.clear();
    for (size_t j = 0; j < returned; ++j) {
      const int32_t id = result_row[j];
      if (id < 0 || std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      bool correct = std::binary_search(truth.begin(), truth.end(), id);
      if (!correct && ties != nullptr) {
        correct = static_cast<double>(ties->results.row(q)[j]) <= threshold;
      }
      if (correct) ++hits;
    }
  }
  return static_cast<double>(hits) / (static_cast<double>(results.rows()) * k);
}

}  // namespace

absl::StatusOr<double> compute_recall(const IntMatrix& results, const IntMatrix& ground_truth,
                                      uint32_t k) {
  if (absl::Status s = check_shapes(results, ground_truth, k); !s.ok()) return s;
  return recall(results, ground_truth, k, nullptr);
}

absl::StatusOr<double> compute_tie_tolerant_recall(const IntMatrix& results,
                                                   const IntMatrix& ground_truth, uint32_t k,
                                                   const FloatMatrix& result_distances,
                                                   const FloatMatrix& ground_truth_distances) {
  if (absl::Status s = check_shapes(results, ground_truth, k); !s.ok()) return s;
  if (result_distances.rows() != results.rows() || result_distances.dim != results.dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("result distances (", result_distances.rows(), " x ", result_distances.dim,
                     ") do not match the result ids (", results.rows(), " x ", results.dim, ")"));
  }
  if (ground_truth_distances.rows() < results.rows() ||
      ground_truth_distances.dim != ground_truth.dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("ground-truth distances (", ground_truth_distances.rows(), " x ",
                     ground_truth_distances.dim, ") do not cover the ", results.rows(),
                     " result queries with ", ground_truth.dim, " distances each"));
  }
  TieDistances ties{result_distances, ground_truth_distances};
  return recall(results, ground_truth, k, &ties);
}

}  // namespace meridian::cli
