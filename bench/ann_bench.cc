// Approximate-search benchmark: Meridian's FlatIndex, HnswIndex (float32 and SQ8), IvfFlatIndex
// (float32 and SQ8) and IvfPqIndex (with and without re-ranking) against hnswlib's
// HierarchicalNSW and FAISS IndexFlat, IndexHNSWFlat, IndexIVFFlat, IndexIVFPQ and
// IndexRefineFlat on fvecs datasets. Per configuration: recall@k, single-thread QPS, batch QPS
// (all queries in one call, all threads), build time and index memory; then the best
// single-thread QPS per recall target, Meridian's ratio to the best peer, and the exact scan's
// bandwidth against the machine's measured streaming-read bandwidth.
//
// Usage: ann_bench [--k=10] [--m=16] [--ef-construction=200] [--efs=16,32,64,128,256]
//                  [--nprobes=1,2,4,8,16,32,64] [--nlist=0] [--pq-m=0] [--refine=10]
//                  [--threads=0] [--systems=ID,...] [--scan-gib=1] [--quick] [--max-base=0]
//                  [--max-queries=1000] [--reps=3] [--min-seconds=0.2] [DATASET...]
//   DATASET is DIR[:l2|cosine|ip] (files DIR/<basename>_{base,query}.fvecs, _groundtruth.ivecs)
//   or BASE.fvecs,QUERY.fvecs,GT.ivecs[,metric]. Default: sift5k:l2, glove6b-100-angular:cosine
//   and wordnet-use-512:cosine from ../shared/datasets beside the source tree. --max-base=N
//   indexes the first N base vectors and recomputes the ground truth exactly. --nlist=0 uses
//   round(4 sqrt(n)) lists, --pq-m=0 dim/4 sub-quantisers (both sides). --scan-gib=N: first
//   time single-query exact scans of a synthetic N GiB collection (0 skips). --quick: 2 reps of
//   0.1 s. System ids: flat hnsw hnsw-sq8 ivf-flat ivf-flat-sq8 ivf-pq ivf-pq-refine hnswlib
//   faiss-flat faiss-hnsw faiss-ivf-flat faiss-ivf-pq faiss-ivf-pq-refine.
#include "bench/ann_bench.h"

#include <blis.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/utils.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "index/distance.h"
#include "index/flat_index.h"

namespace meridian::index::bench {

bool Options::wants(const std::string& id) const {
  return only.empty() || std::find(only.begin(), only.end(), id) != only.end();
}

size_t ivf_lists(const Options& o, size_t n) {
  if (o.nlist != 0) return o.nlist;
  return std::clamp<size_t>(static_cast<size_t>(std::lround(4.0 * std::sqrt(double(n)))), 1,
                            std::min<size_t>(n, 65536));
}

size_t pq_subquantizers(const Options& o, size_t dim) {
  return o.pq_m != 0 ? o.pq_m : std::max<size_t>(1, dim / 4);
}

void parallel_chunks(size_t n, size_t threads, const std::function<void(size_t, size_t)>& fn) {
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(1, n));
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    const size_t begin = n * t / threads, end = n * (t + 1) / threads;
    workers.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  for (std::thread& w : workers) w.join();
}

namespace {

using testing::read_fvecs;
using testing::read_ivecs;
using testing::VecsMatrix;

struct Point {
  double recall = 0, qps = 0, batch_qps = 0, batch_recall = 0;
};

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

std::string first_line_with(const char* file, const char* key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// Bytes of the last-level cache (sysfs), or 32 MiB when unknown.
size_t last_level_cache_bytes() {
  size_t best = 0;
  for (int i = 0; i < 8; ++i) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/size");
    std::string size;
    if (!(in >> size) || size.empty()) continue;
    size_t value = std::stoul(size);
    if (size.back() == 'K') value <<= 10;
    if (size.back() == 'M') value <<= 20;
    best = std::max(best, value);
  }
  return best == 0 ? size_t{32} << 20 : best;
}

// Streaming read of `bytes` bytes at `p` (a multiple of 32) in GB/s: XOR-reduced with four
// independent accumulators, so that the loop is bound by loads.
double stream_read_gbs(const void* p, size_t bytes) {
  const auto* words = static_cast<const uint64_t*>(p);
  const size_t n = bytes / sizeof(uint64_t);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t a = 0, b = 0, c = 0, e = 0;
  for (size_t i = 0; i + 4 <= n; i += 4) {
    a ^= words[i];
    b ^= words[i + 1];
    c ^= words[i + 2];
    e ^= words[i + 3];
  }
  static volatile uint64_t sink = 0;
  sink = sink ^ a ^ b ^ c ^ e;
  return static_cast<double>(bytes) / seconds_since(t0) / 1e9;
}

// The machine's single-thread streaming read bandwidth (GB/s) over a buffer of `bytes`, far
// beyond the caches, and the single-query exact scans of a synthetic 128-dimensional collection
// of the same size: FlatIndex and FAISS IndexFlatL2, as GB/s of vectors streamed. The three are
// timed in 5 interleaved rounds and each keeps its best, so that load from other jobs on the
// machine hits them alike. Returns the read bandwidth.
double report_scan_bandwidth(size_t bytes, size_t k) {
  const size_t dim = 128, n = bytes / (dim * sizeof(float));
  std::vector<float> data(n * dim);
  uint64_t x = 88172645463325252ULL;
  for (float& v : data) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v = static_cast<float>(x >> 40) * 0x1.0p-24f;
  }
  FlatIndex ours(static_cast<uint32_t>(dim), Metric::kL2);
  for (size_t i = 0; i < n; ++i) {
    if (!ours.add(i, {data.data() + i * dim, dim}).ok()) std::abort();
  }
  faiss::IndexFlatL2 peer(static_cast<faiss::Index::idx_t>(dim));
  peer.add(static_cast<faiss::Index::idx_t>(n), data.data());
  const double scanned = static_cast<double>(n * dim * sizeof(float));
  std::vector<float> distances(k);
  std::vector<faiss::Index::idx_t> ids(k);
  double read = 0, ours_gbs = 0, peer_gbs = 0;
  for (size_t round = 0; round < 5; ++round) {
    read = std::max(read, stream_read_gbs(data.data(), n * dim * sizeof(float)));
    const float* q = data.data() + round * 977 * dim;
    auto t0 = std::chrono::steady_clock::now();
    if (!ours.search({q, dim}, k).ok()) std::abort();
    ours_gbs = std::max(ours_gbs, scanned / seconds_since(t0) / 1e9);
    t0 = std::chrono::steady_clock::now();
    peer.search(1, q, static_cast<faiss::Index::idx_t>(k), distances.data(), ids.data());
    peer_gbs = std::max(peer_gbs, scanned / seconds_since(t0) / 1e9);
  }
  std::printf(
      "single-thread streaming read of %.2f GiB: %.1f GB/s. Exact single-query scan of %zu x %zu "
      "float32 (synthetic, same size): meridian FlatIndex %.1f GB/s = %.0f%% of it; faiss "
      "IndexFlatL2 %.1f GB/s = %.0f%% (best of 5 interleaved rounds)\n",
      bytes / double(1 << 30), read, n, dim, ours_gbs, 100 * ours_gbs / read, peer_gbs,
      100 * peer_gbs / read);
  return read;
}

void print_machine(const Options& o) {
  std::printf("machine: %s, %u hardware threads, load average %s\n",
              first_line_with("/proc/cpuinfo", "model name").c_str(),
              std::thread::hardware_concurrency(), load_average().c_str());
  std::printf("cpu: avx2=%d fma=%d avx512f=%d; Meridian kernels: %s\n",
              __builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("fma") != 0,
              __builtin_cpu_supports("avx512f") != 0,
              std::string(isa_name(best_kernels().isa)).c_str());
  std::printf(
      "compiler: GCC %s; FAISS %d.%d.%d (Debian, compile options \"%s\"); hnswlib "
      "header-only, built -O3 -march=native\n",
      __VERSION__, FAISS_VERSION_MAJOR, FAISS_VERSION_MINOR, FAISS_VERSION_PATCH,
      faiss::get_compile_options().c_str());
#ifndef NDEBUG
  std::printf("WARNING: assertions are on (not a release build)\n");
#endif
  std::printf(
      "params: k=%zu; HNSW M=%zu ef_construction=%zu (1 build thread); IVF nlist=%s; PQ m=%s x 8 "
      "bits; refine x%zu; QPS: best of %d round-robin runs of >= %.2f s; single = 1 thread, one "
      "query per call; batch = all queries in one call, %zu threads\n\n",
      o.k, o.m, o.ef_construction,
      o.nlist == 0 ? "round(4 sqrt(n))" : std::to_string(o.nlist).c_str(),
      o.pq_m == 0 ? "dim/4" : std::to_string(o.pq_m).c_str(), o.refine, o.reps, o.min_seconds,
      o.threads);
}

double true_distance(Metric metric, const float* q, const float* x, size_t dim) {
  double l2 = 0, ip = 0, qq = 0, xx = 0;
  for (size_t i = 0; i < dim; ++i) {
    const double a = q[i], b = x[i];
    l2 += (a - b) * (a - b);
    ip += a * b;
    qq += a * a;
    xx += b * b;
  }
  if (metric == Metric::kL2) return std::sqrt(l2);
  if (metric == Metric::kInnerProduct) return -ip;
  return 1.0 - ip / std::sqrt(qq * xx);
}

// Recall@k with the datasets' tie rule: a returned id counts when its true distance is
// <= d_k * (1 + 1e-6) + 1e-6, d_k being the true distance of the k-th ground-truth id.
double recall(const Dataset& d, const std::vector<std::vector<int64_t>>& results, size_t k) {
  size_t hits = 0;
  for (size_t qi = 0; qi < results.size(); ++qi) {
    const float* q = d.query.row(qi);
    const double d_k = true_distance(d.spec.metric, q, d.base.row(d.truth[qi][k - 1]), d.dim());
    for (int64_t id : results[qi]) {
      if (id >= 0 && static_cast<size_t>(id) < d.base.rows &&
          true_distance(d.spec.metric, q, d.base.row(id), d.dim()) <= d_k * (1 + 1e-6) + 1e-6) {
        ++hits;
      }
    }
  }
  return static_cast<double>(hits) / static_cast<double>(results.size() * k);
}

std::vector<float> normalised(const VecsMatrix<float>& m) {
  std::vector<float> out = m.values;
  for (size_t i = 0; i < m.rows; ++i) normalize_in_place(std::span(out.data() + i * m.dim, m.dim));
  return out;
}

bool parse_metric(const std::string& s, Metric& metric) {
  if (s == "l2") {
    metric = Metric::kL2;
  } else if (s == "cosine") {
    metric = Metric::kCosine;
  } else if (s == "ip") {
    metric = Metric::kInnerProduct;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t pos; (pos = s.find(sep, start)) != std::string::npos; start = pos + 1) {
    parts.push_back(s.substr(start, pos - start));
  }
  parts.push_back(s.substr(start));
  return parts;
}

bool parse_dataset(const std::string& arg, DatasetSpec& spec) {
  const char sep = arg.find(',') != std::string::npos ? ',' : ':';
  const std::vector<std::string> parts = split(arg, sep);
  if (sep == ',') {
    if (parts.size() < 3 || (parts.size() == 4 && !parse_metric(parts[3], spec.metric))) {
      return false;
    }
    spec = {parts[0], parts[0], parts[1], parts[2], spec.metric};
    return true;
  }
  if (parts.size() == 2 && !parse_metric(parts[1], spec.metric)) return false;
  std::string dir = parts[0];
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  spec.name = dir.substr(dir.find_last_of('/') + 1);
  spec.base = dir + "/" + spec.name + "_base.fvecs";
  spec.query = dir + "/" + spec.name + "_query.fvecs";
  spec.groundtruth = dir + "/" + spec.name + "_groundtruth.ivecs";
  return true;
}

std::vector<size_t> parse_list(const std::string& s) {
  std::vector<size_t> out;
  for (const std::string& part : split(s, ',')) out.push_back(std::stoul(part));
  return out;
}

// Loads the files; with --max-base, cuts the base and recomputes the exact top-k.
bool load(const DatasetSpec& spec, const Options& o, Dataset& d) {
  d.spec = spec;
  auto base = read_fvecs(spec.base, o.max_base);
  auto query = read_fvecs(spec.query, o.max_queries);
  if (!base.ok() || !query.ok() || base->dim != query->dim) return false;
  d.base = *std::move(base);
  d.query = *std::move(query);
  d.truth.assign(d.query.rows, {});
  if (o.max_base == 0) {
    auto gt = read_ivecs(spec.groundtruth, o.max_queries);
    if (!gt.ok() || gt->rows < d.query.rows || gt->dim < o.k) return false;
    for (size_t qi = 0; qi < d.query.rows; ++qi) {
      d.truth[qi].assign(gt->row(qi), gt->row(qi) + o.k);
    }
  } else {
    FlatIndex flat(static_cast<uint32_t>(d.dim()), spec.metric);
    for (size_t i = 0; i < d.base.rows; ++i) {
      if (!flat.add(i, std::span(d.base.row(i), d.dim())).ok()) return false;
    }
    auto exact = flat.search(d.query.values, o.k);
    if (!exact.ok()) return false;
    for (size_t qi = 0; qi < d.query.rows; ++qi) {
      for (const Neighbor& nb : (*exact)[qi]) d.truth[qi].push_back(static_cast<int64_t>(nb.label));
    }
  }
  d.base_unit = normalised(d.base);
  d.query_unit = normalised(d.query);
  return true;
}

// Best single-thread QPS among a system's points reaching `target` recall; 0 when none does.
double best_qps(const std::vector<Point>& points, double target) {
  double best = 0;
  for (const Point& p : points) {
    if (p.recall >= target) best = std::max(best, p.qps);
  }
  return best;
}

std::string qps_cell(double qps) {
  if (qps <= 0) return "not reached";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", qps);
  return buf;
}

std::string ratio_cell(double ours, double peer) {
  if (ours <= 0 || peer <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", ours / peer);
  return buf;
}

void run_dataset(const Dataset& d, const Options& o, double bandwidth) {
  const size_t n = d.base.rows, nq = d.query.rows, dim = d.dim();
  std::printf("## %s: %zu x %zu base (%.1f MB float32), %zu queries, metric %s\n",
              d.spec.name.c_str(), n, dim, n * dim * 4 / 1e6, nq,
              std::string(metric_name(d.spec.metric)).c_str());
  std::vector<System> systems = meridian_systems(d, o);
  for (System& s : peer_systems(d, o)) systems.push_back(std::move(s));

  std::printf(
      "\n| system | build s | memory MiB | bytes/vector | of which re-rank store |\n"
      "|---|---:|---:|---:|---:|\n");
  for (const System& s : systems) {
    std::printf("| %s | %.2f | %.1f | %.0f | %.0f |\n", s.name.c_str(), s.build_seconds,
                s.memory_bytes / 1048576.0, static_cast<double>(s.memory_bytes) / n,
                static_cast<double>(s.rerank_bytes) / n);
  }
  std::fflush(stdout);

  // points[system][sweep index]; every (system, point) is timed once per rep, round-robin.
  std::vector<std::vector<Point>> points(systems.size());
  for (size_t s = 0; s < systems.size(); ++s) points[s].resize(systems[s].sweep.size());
  std::vector<std::vector<int64_t>> results(nq);
  for (int rep = 0; rep < o.reps; ++rep) {
    for (size_t s = 0; s < systems.size(); ++s) {
      for (size_t e = 0; e < systems[s].sweep.size(); ++e) {
        const size_t param = systems[s].sweep[e];
        Point& p = points[s][e];
        // Passes over the query set until min_seconds have elapsed, so small sets time well.
        auto t0 = std::chrono::steady_clock::now();
        size_t done = 0;
        double elapsed = 0;
        do {
          for (size_t qi = 0; qi < nq; ++qi) systems[s].search_one(qi, param, results[qi]);
          done += nq;
          elapsed = seconds_since(t0);
        } while (elapsed < o.min_seconds);
        p.qps = std::max(p.qps, static_cast<double>(done) / elapsed);
        if (rep == 0) p.recall = recall(d, results, o.k);
        t0 = std::chrono::steady_clock::now();
        done = 0;
        do {
          systems[s].search_batch(param, o.threads, results);
          done += nq;
          elapsed = seconds_since(t0);
        } while (elapsed < o.min_seconds);
        p.batch_qps = std::max(p.batch_qps, static_cast<double>(done) / elapsed);
        if (rep == 0) p.batch_recall = recall(d, results, o.k);
      }
    }
  }

  std::printf(
      "\n| system | param | recall@%zu | 1-thread QPS | batch QPS (%zu threads) |\n"
      "|---|---|---:|---:|---:|\n",
      o.k, o.threads);
  for (size_t s = 0; s < systems.size(); ++s) {
    for (size_t e = 0; e < systems[s].sweep.size(); ++e) {
      const Point& p = points[s][e];
      const std::string param =
          systems[s].sweep_name == "-"
              ? "-"
              : systems[s].sweep_name + "=" + std::to_string(systems[s].sweep[e]);
      std::printf("| %s | %s | %.4f | %.0f | %.0f |%s\n", systems[s].name.c_str(), param.c_str(),
                  p.recall, p.qps, p.batch_qps,
                  std::fabs(p.batch_recall - p.recall) > 0.005 ? " batch recall differs!" : "");
    }
  }

  const double targets[] = {0.90, 0.95, 0.99};
  std::printf(
      "\nBest 1-thread QPS at recall@%zu >=\n\n| system | 0.90 | 0.95 | 0.99 |\n"
      "|---|---:|---:|---:|\n",
      o.k);
  for (size_t s = 0; s < systems.size(); ++s) {
    std::printf("| %s |", systems[s].name.c_str());
    for (double t : targets) std::printf(" %s |", qps_cell(best_qps(points[s], t)).c_str());
    std::printf("\n");
  }
  // Meridian's best per comparison family against the best peer of that family, then overall.
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> best;  // ours, peers
  const std::vector<std::string> kinds = {"flat",   "hnsw",          "ivf-flat",
                                          "ivf-pq", "ivf-pq+refine", "any"};
  for (const std::string& kind : kinds) best[kind] = {{0, 0, 0}, {0, 0, 0}};
  for (size_t s = 0; s < systems.size(); ++s) {
    for (size_t t = 0; t < 3; ++t) {
      const double q = best_qps(points[s], targets[t]);
      for (const std::string& kind : {systems[s].kind, std::string("any")}) {
        auto& slot = systems[s].owner == "meridian" ? best[kind].first : best[kind].second;
        slot[t] = std::max(slot[t], q);
      }
    }
  }
  std::printf(
      "\nMeridian / best peer (1-thread QPS, same family)\n\n"
      "| family | 0.90 | 0.95 | 0.99 |\n|---|---:|---:|---:|\n");
  for (const std::string& kind : kinds) {
    std::printf("| %s |", kind.c_str());
    for (size_t t = 0; t < 3; ++t) {
      std::printf(" %s |", ratio_cell(best[kind].first[t], best[kind].second[t]).c_str());
    }
    std::printf("\n");
  }

  // Goals (issue 4).
  const auto find = [&](const std::string& id) -> int {
    for (size_t s = 0; s < systems.size(); ++s) {
      if (systems[s].id == id) return static_cast<int>(s);
    }
    return -1;
  };
  std::printf("\nGoals:\n");
  const int hnsw = find("hnsw"), hnswlib = find("hnswlib");
  if (hnsw >= 0 && hnswlib >= 0) {
    const double a = best_qps(points[hnsw], 0.95), b = best_qps(points[hnswlib], 0.95);
    std::printf("- HNSW QPS at recall >= 0.95 vs hnswlib: %s (goal >= 1.0x)\n",
                ratio_cell(a, b).c_str());
    std::printf("- HNSW build time vs hnswlib: %.2fx (goal <= 1.0x)\n",
                systems[hnsw].build_seconds / systems[hnswlib].build_seconds);
  }
  for (const char* id : {"flat", "faiss-flat"}) {
    const int f = find(id);
    if (f < 0) continue;
    const double gbs = points[f][0].qps * static_cast<double>(n * dim * sizeof(float)) / 1e9;
    std::printf("- %s single-query scan: %.1f GB/s = %.0f%% of the measured %.1f GB/s%s\n",
                systems[f].name.c_str(), gbs, 100.0 * gbs / bandwidth, bandwidth,
                n * dim * sizeof(float) < 2 * last_level_cache_bytes()
                    ? " (the vectors are at most twice the last-level cache, so much of each scan "
                      "hits the cache and this can exceed 100%)"
                    : "");
  }
  const int pq = find("ivf-pq-refine");
  if (pq >= 0) {
    double top = 0;
    size_t at = 0;
    for (size_t e = 0; e < points[pq].size(); ++e) {
      if (points[pq][e].recall > top) {
        top = points[pq][e].recall;
        at = systems[pq].sweep[e];
      }
    }
    const size_t code = pq_subquantizers(o, dim);
    std::printf(
        "- IVF-PQ+refine: best recall@%zu %.4f (nprobe=%zu) with %zu-byte codes = 1/%.0f of the "
        "%zu-byte vector (goal >= 0.90 at <= 1/8)\n",
        o.k, top, at, code, static_cast<double>(dim * sizeof(float)) / code, dim * sizeof(float));
  }
  std::printf("\n");
}

int run(int argc, char** argv) {
  Options o;
  std::vector<DatasetSpec> specs;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&arg] { return arg.substr(arg.find('=') + 1); };
    const auto is = [&arg](const char* flag) { return arg.rfind(flag, 0) == 0; };
    DatasetSpec spec;
    if (is("--k=")) {
      o.k = std::stoul(value());
    } else if (is("--m=")) {
      o.m = std::stoul(value());
    } else if (is("--ef-construction=")) {
      o.ef_construction = std::stoul(value());
    } else if (is("--efs=")) {
      o.efs = parse_list(value());
    } else if (is("--nprobes=")) {
      o.nprobes = parse_list(value());
    } else if (is("--nlist=")) {
      o.nlist = std::stoul(value());
    } else if (is("--pq-m=")) {
      o.pq_m = std::stoul(value());
    } else if (is("--refine=")) {
      o.refine = std::max<size_t>(1, std::stoul(value()));
    } else if (is("--threads=")) {
      o.threads = std::stoul(value());
    } else if (is("--systems=")) {
      o.only = split(value(), ',');
    } else if (is("--scan-gib=")) {
      o.scan_gib = std::stoul(value());
    } else if (arg == "--quick") {
      quick = true;
    } else if (is("--max-base=")) {
      o.max_base = std::stoul(value());
    } else if (is("--max-queries=")) {
      o.max_queries = std::stoul(value());
    } else if (is("--min-seconds=")) {
      o.min_seconds = std::stod(value());
    } else if (is("--reps=")) {
      o.reps = std::max(1, std::stoi(value()));
    } else if (!is("--") && parse_dataset(arg, spec)) {
      specs.push_back(spec);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--k=10] [--m=16] [--ef-construction=200] [--efs=16,32,...] "
                   "[--nprobes=1,2,...] [--nlist=0] [--pq-m=0] [--refine=10] [--threads=0] "
                   "[--systems=ID,...] [--scan-gib=1] [--quick] [--max-base=0] "
                   "[--max-queries=1000] [--reps=3] "
                   "[--min-seconds=0.2] [DIR[:metric] | BASE,QUERY,GT[,metric]]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (quick) {
    o.reps = std::min(o.reps, 2);
    o.min_seconds = std::min(o.min_seconds, 0.1);
  }
  if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
  if (specs.empty()) {
    const std::string root = std::string(MERIDIAN_SOURCE_DIR) + "/../shared/datasets/";
    for (const char* d : {"sift5k:l2", "glove6b-100-angular:cosine", "wordnet-use-512:cosine"}) {
      DatasetSpec spec;
      parse_dataset(root + d, spec);
      specs.push_back(spec);
    }
  }
  omp_set_num_threads(1);
  bli_thread_set_num_threads(1);
  print_machine(o);
  // The reference bandwidth: streaming reads of 1 GiB (and the exact scans beside them).
  double bandwidth;
  if (o.scan_gib > 0) {
    bandwidth = report_scan_bandwidth(o.scan_gib * (size_t{1} << 30), o.k);
  } else {
    std::vector<uint64_t> buffer(size_t{1} << 27, 1);
    bandwidth = 0;
    for (int rep = 0; rep < 3; ++rep) {
      bandwidth = std::max(bandwidth, stream_read_gbs(buffer.data(), buffer.size() * 8));
    }
    std::printf("single-thread streaming read of 1 GiB: %.1f GB/s\n", bandwidth);
  }
  std::printf("last-level cache %zu MiB\n\n", last_level_cache_bytes() >> 20);
  for (const DatasetSpec& spec : specs) {
    Dataset d;
    if (!load(spec, o, d)) {
      std::fprintf(stderr, "%s: cannot load dataset\n", spec.name.c_str());
      return 1;
    }
    run_dataset(d, o, bandwidth);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace meridian::index::bench

int main(int argc, char** argv) { return meridian::index::bench::run(argc, argv); }
