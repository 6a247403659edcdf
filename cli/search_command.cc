// The search command: one timed request per batch of queries, then the summary and files.
#include "cli/search_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "cli/latency_summary.h"
#include "cli/search_output.h"
#include "cli/vecs_io.h"

namespace meridian::cli {

absl::Status run_search(client::Client& client, const SearchArgs& args, std::ostream& out) {
  absl::StatusOr<FloatMatrix> queries = read_fvecs(args.queries_file);
  if (!queries.ok()) return queries.status();
  if (queries->rows() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(args.queries_file, " holds no queries"));
  }
  absl::StatusOr<client::CollectionInfo> info = client.collection_info(args.collection);
  if (!info.ok()) return info.status();
  if (queries->dim != info->config.dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(args.queries_file, " has queries of dimension ", queries->dim,
                     " but collection ", args.collection, " has dimension ", info->config.dim));
  }

  const size_t n = queries->rows();
  IntMatrix ids{.dim = args.k, .data = {}};
  FloatMatrix distances{.dim = args.k, .data = {}};
  ids.data.reserve(n * args.k);
  distances.data.reserve(n * args.k);
  std::vector<double> latencies_ms;
  client::SearchRequest request{.collection = args.collection, .queries = {}, .k = args.k};
  request.ef = args.ef;
  request.nprobe = args.nprobe;
  request.filter = args.filter;
  const auto start = std::chrono::steady_clock::now();
  for (size_t first = 0; first < n; first += args.batch) {
    const size_t count = std::min<size_t>(args.batch, n - first);
    request.queries.assign(queries->data.begin() + first * queries->dim,
                           queries->data.begin() + (first + count) * queries->dim);
    const auto sent = std::chrono::steady_clock::now();
    absl::StatusOr<client::SearchResults> results = client.search(request);
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
    if (!results.ok()) {
      return absl::Status(
          results.status().code(),
          absl::StrCat("query ", first, ": ", std::string(results.status().message())));
    }
    if (results->size() != count) {
      return absl::InternalError(absl::StrCat("server answered ", results->size(),
                                              " result lists for ", count, " queries"));
    }
    absl::Status appended =
        append_result_rows(*results, info->config.metric, args.k, ids, distances);
    if (!appended.ok()) return appended;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!args.out.empty()) {
    if (absl::Status s = write_ivecs(args.out, ids); !s.ok()) return s;
  }
  if (!args.out_dist.empty()) {
    if (absl::Status s = write_fvecs(args.out_dist, distances); !s.ok()) return s;
  }
  const LatencySummary latency = summarize_latencies(latencies_ms);
  char line[256];
  std::snprintf(line, sizeof line,
                "searched %zu queries (k=%u, %u per request) in %.2f s: %.1f QPS, latency "
                "p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n",
                n, args.k, args.batch, seconds, seconds > 0 ? static_cast<double>(n) / seconds : 0,
                latency.p50_ms, latency.p95_ms, latency.p99_ms);
  out << line;
  return absl::OkStatus();
}

}  // namespace meridian::cli
