// Approximate-search benchmark: Meridian's HnswIndex against hnswlib's HierarchicalNSW and FAISS
// IndexHNSWFlat on fvecs datasets: build time and memory, then recall@k and QPS per ef (1 thread).
//
// Usage: ann_bench [--k=10] [--m=16] [--ef-construction=200] [--efs=16,32,64,128,256]
//                  [--max-base=0] [--max-queries=1000] [--reps=3] [--min-seconds=0.2] [DATASET...]
//   DATASET is DIR[:l2|cosine|ip] (files DIR/<basename>_{base,query}.fvecs, _groundtruth.ivecs)
//   or BASE.fvecs,QUERY.fvecs,GT.ivecs[,metric]. Default: sift5k:l2, glove6b-100-angular:cosine
//   and wordnet-use-512:cosine from ../shared/datasets beside the source tree. --max-base=N
//   indexes the first N base vectors and recomputes the ground truth exactly.
#include <blis.h>
#include <faiss/IndexHNSW.h>
#include <faiss/utils/utils.h>
#include <hnswlib/hnswlib.h>
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "index/distance.h"
#include "index/flat_index.h"
#include "index/hnsw_index.h"
#include "tests/index/fvecs_reader.h"

namespace meridian::index {
namespace {

using testing::read_fvecs;
using testing::read_ivecs;
using testing::VecsMatrix;

struct Options {
  size_t k = 10, m = 16, ef_construction = 200, max_base = 0, max_queries = 1000;
  int reps = 3;
  double min_seconds = 0.2;
  std::vector<size_t> efs = {16, 32, 64, 128, 256};
};

struct DatasetSpec {
  std::string name, base, query, groundtruth;
  Metric metric = Metric::kL2;
};

struct Dataset {
  DatasetSpec spec;
  VecsMatrix<float> base, query;             // Raw vectors, as in the files.
  std::vector<std::vector<int64_t>> truth;   // Exact top-k ids per query.
  std::vector<float> base_unit, query_unit;  // Normalised copies, for the peers under cosine.
  size_t dim() const { return base.dim; }
};

// One system under test: built once, then answers one query (ids into `out`) at a given ef.
struct System {
  std::string name;
  double build_seconds = 0;
  double rss_mib = 0;
  std::function<void(size_t qi, size_t ef, std::vector<int64_t>& out)> search;
};

struct Point {
  double qps = 0, recall = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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

// Resident set size in MiB, after returning freed heap pages to the OS.
double rss_mib() {
  malloc_trim(0);
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
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
      "params: M=%zu ef_construction=%zu k=%zu; 1 thread (build and search), one query "
      "per call; QPS = best of %d round-robin runs of >= %.1f s\n\n",
      o.m, o.ef_construction, o.k, o.reps, o.min_seconds);
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

System meridian_system(const Dataset& d, const Options& o) {
  const size_t n = d.base.rows, dim = d.dim();
  const double rss0 = rss_mib();
  const HnswParams params{.m = static_cast<uint32_t>(o.m),
                          .ef_construction = static_cast<uint32_t>(o.ef_construction)};
  auto index = std::make_shared<HnswIndex>(static_cast<uint32_t>(dim), d.spec.metric, params);
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = i;
  const auto t0 = std::chrono::steady_clock::now();
  if (!index->add_batch(labels, d.base.values, 1).ok()) std::abort();
  System s{"meridian HnswIndex", seconds_since(t0), rss_mib() - rss0, nullptr};
  std::printf("  meridian memory_bytes(): %.1f MiB\n", index->memory_bytes() / 1048576.0);
  const size_t k = o.k;
  s.search = [&d, index, k, dim](size_t qi, size_t ef, std::vector<int64_t>& out) {
    auto r = index->search(std::span(d.query.row(qi), dim), k, ef);
    out.clear();
    for (const Neighbor& nb : (*r)[0]) out.push_back(static_cast<int64_t>(nb.label));
  };
  return s;
}

System hnswlib_system(const Dataset& d, const Options& o) {
  const size_t n = d.base.rows, dim = d.dim();
  const bool cosine = d.spec.metric == Metric::kCosine;
  const float* base = (cosine ? d.base_unit : d.base.values).data();
  const float* query = (cosine ? d.query_unit : d.query.values).data();
  const double rss0 = rss_mib();
  std::shared_ptr<hnswlib::SpaceInterface<float>> space;
  if (d.spec.metric == Metric::kL2) {
    space = std::make_shared<hnswlib::L2Space>(dim);
  } else {
    space = std::make_shared<hnswlib::InnerProductSpace>(dim);
  }
  const auto t0 = std::chrono::steady_clock::now();
  // The index points at `space`; the deleter keeps the space alive as long as the index.
  auto index = std::shared_ptr<hnswlib::HierarchicalNSW<float>>(
      new hnswlib::HierarchicalNSW<float>(space.get(), n, o.m, o.ef_construction, 42),
      [space](hnswlib::HierarchicalNSW<float>* p) { delete p; });
  for (size_t i = 0; i < n; ++i) index->addPoint(base + i * dim, i);
  System s{"hnswlib HierarchicalNSW", seconds_since(t0), rss_mib() - rss0, nullptr};
  const size_t k = o.k;
  s.search = [index, query, k, dim](size_t qi, size_t ef, std::vector<int64_t>& out) {
    index->setEf(ef);
    auto pq = index->searchKnn(query + qi * dim, k);
    out.assign(pq.size(), -1);
    for (size_t j = pq.size(); j-- > 0; pq.pop()) out[j] = static_cast<int64_t>(pq.top().second);
  };
  return s;
}

System faiss_system(const Dataset& d, const Options& o) {
  const size_t n = d.base.rows, dim = d.dim();
  const bool cosine = d.spec.metric == Metric::kCosine;
  const float* base = (cosine ? d.base_unit : d.base.values).data();
  const float* query = (cosine ? d.query_unit : d.query.values).data();
  const double rss0 = rss_mib();
  const auto t0 = std::chrono::steady_clock::now();
  auto index = std::make_shared<faiss::IndexHNSWFlat>(
      static_cast<int>(dim), static_cast<int>(o.m),
      d.spec.metric == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
  index->hnsw.efConstruction = static_cast<int>(o.ef_construction);
  index->add(static_cast<faiss::Index::idx_t>(n), base);
  System s{"faiss IndexHNSWFlat", seconds_since(t0), rss_mib() - rss0, nullptr};
  const size_t k = o.k;
  auto distances = std::make_shared<std::vector<float>>(k);
  auto ids = std::make_shared<std::vector<faiss::Index::idx_t>>(k);
  s.search = [=](size_t qi, size_t ef, std::vector<int64_t>& out) {
    index->hnsw.efSearch = static_cast<int>(ef);
    index->search(1, query + qi * dim, static_cast<faiss::Index::idx_t>(k), distances->data(),
                  ids->data());
    out.assign(ids->begin(), ids->end());
  };
  return s;
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

bool parse_dataset(const std::string& arg, DatasetSpec& spec) {
  std::vector<std::string> parts;
  const char sep = arg.find(',') != std::string::npos ? ',' : ':';
  size_t start = 0;
  for (size_t pos; (pos = arg.find(sep, start)) != std::string::npos; start = pos + 1) {
    parts.push_back(arg.substr(start, pos - start));
  }
  parts.push_back(arg.substr(start));
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
  size_t start = 0;
  for (size_t pos; (pos = s.find(',', start)) != std::string::npos; start = pos + 1) {
    out.push_back(std::stoul(s.substr(start, pos - start)));
  }
  out.push_back(std::stoul(s.substr(start)));
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

void run_dataset(const Dataset& d, const Options& o) {
  std::printf("## %s: %zu x %zu base, %zu queries, metric %s\n", d.spec.name.c_str(), d.base.rows,
              d.dim(), d.query.rows, std::string(metric_name(d.spec.metric)).c_str());
  std::vector<System> systems;
  systems.push_back(meridian_system(d, o));
  systems.push_back(hnswlib_system(d, o));
  systems.push_back(faiss_system(d, o));
  std::printf("\n| system | build s (1 thread) | RSS delta MiB |\n|---|---:|---:|\n");
  for (const System& s : systems) {
    std::printf("| %s | %.2f | %.1f |\n", s.name.c_str(), s.build_seconds, s.rss_mib);
  }
  std::printf("build time meridian / hnswlib: %.2fx\n\n",
              systems[0].build_seconds / systems[1].build_seconds);
  const size_t nq = d.query.rows;
  // points[system][ef index]
  std::vector<std::vector<Point>> points(systems.size(), std::vector<Point>(o.efs.size()));
  std::vector<std::vector<int64_t>> results(nq);
  for (size_t e = 0; e < o.efs.size(); ++e) {
    for (int rep = 0; rep < o.reps; ++rep) {
      for (size_t s = 0; s < systems.size(); ++s) {
        // Passes over the query set until min_seconds have elapsed, so small sets time well.
        const auto t0 = std::chrono::steady_clock::now();
        size_t done = 0;
        double elapsed = 0;
        do {
          for (size_t qi = 0; qi < nq; ++qi) systems[s].search(qi, o.efs[e], results[qi]);
          done += nq;
          elapsed = seconds_since(t0);
        } while (elapsed < o.min_seconds);
        Point& p = points[s][e];
        p.qps = std::max(p.qps, static_cast<double>(done) / elapsed);
        if (rep == 0) p.recall = recall(d, results, o.k);
      }
    }
  }
  std::printf("| ef |");
  for (const System& s : systems) std::printf(" %s recall@%zu | QPS |", s.name.c_str(), o.k);
  std::printf("\n|---:|");
  for (size_t s = 0; s < systems.size(); ++s) std::printf("---:|---:|");
  std::printf("\n");
  for (size_t e = 0; e < o.efs.size(); ++e) {
    std::printf("| %zu |", o.efs[e]);
    for (size_t s = 0; s < systems.size(); ++s) {
      std::printf(" %.4f | %.0f |", points[s][e].recall, points[s][e].qps);
    }
    std::printf("\n");
  }
  std::printf("\n| best QPS at recall@%zu >= | ", o.k);
  for (const System& s : systems) std::printf("%s | ", s.name.c_str());
  std::printf("meridian / best peer |\n|---|");
  for (size_t s = 0; s <= systems.size(); ++s) std::printf("---:|");
  std::printf("\n");
  for (double target : {0.90, 0.95, 0.99}) {
    std::printf("| %.2f |", target);
    std::vector<double> best(systems.size(), 0);
    for (size_t s = 0; s < systems.size(); ++s) {
      for (const Point& p : points[s]) {
        if (p.recall >= target) best[s] = std::max(best[s], p.qps);
      }
      if (best[s] > 0) {
        std::printf(" %.0f |", best[s]);
      } else {
        std::printf(" not reached |");
      }
    }
    const double peer = std::max(best[1], best[2]);
    if (best[0] > 0 && peer > 0) {
      std::printf(" %.2fx |\n", best[0] / peer);
    } else {
      std::printf(" - |\n");
    }
  }
  std::printf("\n");
}

int run(int argc, char** argv) {
  Options o;
  std::vector<DatasetSpec> specs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&arg] { return arg.substr(arg.find('=') + 1); };
    DatasetSpec spec;
    if (arg.rfind("--k=", 0) == 0) {
      o.k = std::stoul(value());
    } else if (arg.rfind("--m=", 0) == 0) {
      o.m = std::stoul(value());
    } else if (arg.rfind("--ef-construction=", 0) == 0) {
      o.ef_construction = std::stoul(value());
    } else if (arg.rfind("--efs=", 0) == 0) {
      o.efs = parse_list(value());
    } else if (arg.rfind("--max-base=", 0) == 0) {
      o.max_base = std::stoul(value());
    } else if (arg.rfind("--max-queries=", 0) == 0) {
      o.max_queries = std::stoul(value());
    } else if (arg.rfind("--min-seconds=", 0) == 0) {
      o.min_seconds = std::stod(value());
    } else if (arg.rfind("--reps=", 0) == 0) {
      o.reps = std::max(1, std::stoi(value()));
    } else if (arg.rfind("--", 0) != 0 && parse_dataset(arg, spec)) {
      specs.push_back(spec);
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--k=10] [--m=16] [--ef-construction=200] [--efs=16,32,...] "
          "[--max-base=0] [--max-queries=1000] [--reps=3] [--min-seconds=0.2] [DIR[:metric] | "
          "BASE,QUERY,GT[,metric]]...\n",
          argv[0]);
      return 2;
    }
  }
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
  for (const DatasetSpec& spec : specs) {
    Dataset d;
    if (!load(spec, o, d)) {
      std::fprintf(stderr, "%s: cannot load dataset\n", spec.name.c_str());
      return 1;
    }
    run_dataset(d, o);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace meridian::index

int main(int argc, char** argv) { return meridian::index::run(argc, argv); }
