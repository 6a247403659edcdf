// Shared pieces of ann_bench: options, the loaded dataset, and one system under test (an index
// built once, then searched one query at a time or as a multi-threaded batch).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "index/metric.h"
#include "tests/index/fvecs_reader.h"

namespace meridian::index::bench {

struct Options {
  size_t k = 10, m = 16, ef_construction = 200, max_base = 0, max_queries = 1000;
  size_t nlist = 0;     // 0: round(4 * sqrt(n)), for ours and FAISS alike.
  size_t pq_m = 0;      // 0: dim / 4 sub-quantisers (ours and FAISS; FAISS needs pq_m | dim).
  size_t refine = 10;   // IVF-PQ re-ranking factor (ours refine_factor, FAISS k_factor).
  size_t threads = 0;   // Batch threads; 0: all hardware threads.
  size_t scan_gib = 1;  // Synthetic collection for the exact-scan bandwidth check; 0 skips it.
  int reps = 3;
  double min_seconds = 0.2;
  std::vector<size_t> efs = {16, 32, 64, 128, 256};
  std::vector<size_t> nprobes = {1, 2, 4, 8, 16, 32, 64};
  std::vector<std::string> only;  // System ids to run; empty: all.

  bool wants(const std::string& id) const;
};

struct DatasetSpec {
  std::string name, base, query, groundtruth;
  Metric metric = Metric::kL2;
};

struct Dataset {
  DatasetSpec spec;
  testing::VecsMatrix<float> base, query;    // Raw vectors, as in the files.
  std::vector<std::vector<int64_t>> truth;   // Exact top-k ids per query.
  std::vector<float> base_unit, query_unit;  // Normalised copies, for the peers under cosine.
  size_t dim() const { return base.dim; }
  // What the peers index and search: unit vectors under cosine (they use inner product).
  const std::vector<float>& peer_base() const {
    return spec.metric == Metric::kCosine ? base_unit : base.values;
  }
  const std::vector<float>& peer_queries() const {
    return spec.metric == Metric::kCosine ? query_unit : query.values;
  }
};

// One index under test. `param` is the swept search parameter (ef or nprobe; unused by exact
// scans, whose sweep is {0}).
struct System {
  std::string id;     // Command-line name, e.g. "hnsw-sq8".
  std::string name;   // Table name, e.g. "meridian HnswIndex sq8".
  std::string owner;  // "meridian", "hnswlib" or "faiss".
  std::string kind;   // Comparison family: "flat", "hnsw", "ivf-flat", "ivf-pq", "ivf-pq+refine".
  std::string sweep_name;
  std::vector<size_t> sweep;
  double build_seconds = 0;
  size_t memory_bytes = 0;  // Index heap bytes (ours: memory_bytes(); peers: structure sizes).
  size_t rerank_bytes = 0;  // The part held by a full-precision re-rank store.
  // One query (row qi of the query set): result ids into `out`. One thread.
  std::function<void(size_t qi, size_t param, std::vector<int64_t>& out)> search_one;
  // Every query at once with `threads` threads: ids per query into `out` (pre-sized).
  std::function<void(size_t param, size_t threads, std::vector<std::vector<int64_t>>& out)>
      search_batch;
};

std::vector<System> meridian_systems(const Dataset& d, const Options& o);
std::vector<System> peer_systems(const Dataset& d, const Options& o);

// The IVF list count both sides use: o.nlist, or round(4 * sqrt(n)).
size_t ivf_lists(const Options& o, size_t n);
// Sub-quantisers both sides use: o.pq_m, or dim / 4.
size_t pq_subquantizers(const Options& o, size_t dim);

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs fn(begin, end) on `threads` contiguous chunks of [0, n), each on its own thread.
void parallel_chunks(size_t n, size_t threads, const std::function<void(size_t, size_t)>& fn);

}  // namespace meridian::index::bench
