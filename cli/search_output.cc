// Result-row conversion for `meridian search`.
#include "cli/search_output.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace meridian::cli {

float score_to_distance(Metric metric, float score) {
  switch (metric) {
    case Metric::kL2:
      return score;
    case Metric::kCosine:
      return 1.0f - score;
    case Metric::kDot:
      return -score;
  }
  return score;
}

absl::Status append_result_rows(const client::SearchResults& results, Metric metric, uint32_t k,
                                IntMatrix& ids, FloatMatrix& distances) {
  for (const auto& hits : results) {
    for (uint32_t j = 0; j < k; ++j) {
      if (j >= hits.size()) {
        ids.data.push_back(kMissingId);
        distances.data.push_back(std::numeric_limits<float>::infinity());
        continue;
      }
      const PointId& id = hits[j].id;
      if (!id.is_number() ||
          id.as_number() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        return absl::InvalidArgumentError(
            absl::StrCat("result id ", id.to_string(),
                         " cannot be written to an ivecs file (only numeric ids up to 2^31-1)"));
      }
      ids.data.push_back(static_cast<int32_t>(id.as_number()));
      distances.data.push_back(score_to_distance(metric, hits[j].score));
    }
  }
  return absl::OkStatus();
}

}  // namespace meridian::cli
