// Latency percentiles and throughput of a run of timed requests, as the CLI reports them.
#pragma once

#include <string>
#include <vector>

namespace meridian::cli {

struct LatencySummary {
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
};

// Nearest-rank percentile (0 < p <= 100) of `values`; 0 for no values. Does not need `values`
// sorted.
double percentile(std::vector<double> values, double p);

// p50/p95/p99 of per-request latencies given in milliseconds.
LatencySummary summarize_latencies(const std::vector<double>& latencies_ms);

}  // namespace meridian::cli
