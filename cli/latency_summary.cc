// Nearest-rank percentiles: the smallest value with at least p% of the values at or below it.
#include "cli/latency_summary.h"

#include <algorithm>
#include <cmath>

namespace meridian::cli {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(values.size()))) - 1;
  return values[index];
}

LatencySummary summarize_latencies(const std::vector<double>& latencies_ms) {
  return LatencySummary{percentile(latencies_ms, 50), percentile(latencies_ms, 95),
                        percentile(latencies_ms, 99)};
}

}  // namespace meridian::cli
