// Exact-search benchmark: Meridian's FlatIndex against FAISS IndexFlat{L2,IP} and hnswlib's
// BruteforceSearch on fvecs datasets: single-query and batch QPS (1 thread), recall@k.
//
// Usage: flat_search_bench [--k=10] [--max-queries=1000] [--reps=3] [DATASET...]
//   DATASET is DIR[:l2|cosine|ip] (files DIR/<basename>_{base,query}.fvecs, _groundtruth.ivecs)
//   or BASE.fvecs,QUERY.fvecs,GT.ivecs[,metric]. Default: sift5k:l2 and glove6b-100-angular:cosine
//   from ../shared/datasets beside the source tree.
#include <blis.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/utils.h>
#include <hnswlib/hnswlib.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "index/distance.h"
#include "index/flat_index.h"
#include "tests/index/fvecs_reader.h"

namespace meridian::index {
namespace {

using testing::read_fvecs;
using testing::read_ivecs;
using testing::VecsMatrix;

struct DatasetSpec {
  std::string name, base, query, groundtruth;
  Metric metric;
};

struct Dataset {
  DatasetSpec spec;
  VecsMatrix<float> base, query;  // Raw vectors, as in the files.
  VecsMatrix<int32_t> groundtruth;
  std::vector<float> base_unit, query_unit;  // L2-normalised copies, for peers under cosine.
};

using FaissId = faiss::Index::idx_t;

// Per system: ids of the k results for every query, best first.
using Results = std::vector<std::vector<int64_t>>;

struct Figures {
  std::string system;
  double single_qps = 0, batch_qps = 0, recall = 0;
  bool batch_is_loop = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string first_line_with(const char* file, const char* key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

void print_machine() {
  std::printf("machine: %s, %u hardware threads\n",
              first_line_with("/proc/cpuinfo", "model name").c_str(),
              std::thread::hardware_concurrency());
  std::printf("cpu: avx2=%d fma=%d avx512f=%d; Meridian kernels: %s\n",
              __builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("fma") != 0,
              __builtin_cpu_supports("avx512f") != 0,
              std::string(isa_name(best_kernels().isa)).c_str());
  std::printf("compiler: GCC %s; BLIS %s; FAISS %d.%d.%d (Debian, compile options \"%s\")\n",
              __VERSION__, bli_info_get_version_str(), FAISS_VERSION_MAJOR, FAISS_VERSION_MINOR,
              FAISS_VERSION_PATCH, faiss::get_compile_options().c_str());
  std::printf("threads: 1 everywhere (OpenMP, BLIS); QPS = best of --reps round-robin runs\n\n");
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
  switch (metric) {
    case Metric::kL2:
      return std::sqrt(l2);
    case Metric::kInnerProduct:
      return -ip;
    case Metric::kCosine:
      return 1.0 - ip / std::sqrt(qq * xx);
  }
  return 0;
}

// Recall@k with the datasets' tie tolerance: a returned id counts when its true distance is
// <= d_k * (1 + 1e-6) + 1e-6, d_k being the true distance of the k-th ground-truth id.
double recall(const Dataset& d, const Results& results, size_t k) {
  size_t hits = 0;
  const size_t dim = d.base.dim;
  for (size_t qi = 0; qi < results.size(); ++qi) {
    const float* q = d.query.row(qi);
    const double d_k =
        true_distance(d.spec.metric, q, d.base.row(d.groundtruth.row(qi)[k - 1]), dim);
    for (int64_t id : results[qi]) {
      if (id >= 0 &&
          true_distance(d.spec.metric, q, d.base.row(id), dim) <= d_k * (1 + 1e-6) + 1e-6) {
        ++hits;
      }
    }
  }
  return static_cast<double>(hits) / static_cast<double>(results.size() * k);
}

// One system under test: answers one query, or all of them at once (batch empty: no batch API).
// The lambdas own the system's index through shared_ptr captures.
struct System {
  std::string name;
  std::function<void(size_t, std::vector<int64_t>&)> single;
  std::function<void(Results&)> batch;
};

// Times every system `reps` times, round-robin so that load from other processes on a shared
// machine hits all of them alike; keeps each system's best QPS.
std::vector<Figures> measure(const std::vector<System>& systems, const Dataset& d, size_t k,
                             int reps) {
  const size_t nq = d.query.rows;
  std::vector<Figures> figures(systems.size());
  std::vector<Results> single_results(systems.size(), Results(nq));
  std::vector<Results> batch_results(systems.size(), Results(nq));
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t s = 0; s < systems.size(); ++s) {
      Figures& f = figures[s];
      auto t0 = std::chrono::steady_clock::now();
      for (size_t qi = 0; qi < nq; ++qi) systems[s].single(qi, single_results[s][qi]);
      f.single_qps = std::max(f.single_qps, static_cast<double>(nq) / seconds_since(t0));
      if (systems[s].batch) {
        t0 = std::chrono::steady_clock::now();
        systems[s].batch(batch_results[s]);
        f.batch_qps = std::max(f.batch_qps, static_cast<double>(nq) / seconds_since(t0));
      }
    }
  }
  for (size_t s = 0; s < systems.size(); ++s) {
    Figures& f = figures[s];
    f.system = systems[s].name;
    f.recall = recall(d, single_results[s], k);
    if (systems[s].batch) {
      f.recall = std::min(f.recall, recall(d, batch_results[s], k));
    } else {
      f.batch_qps = f.single_qps;
      f.batch_is_loop = true;
    }
  }
  return figures;
}

System meridian_system(const Dataset& d, size_t k) {
  const size_t dim = d.base.dim;
  auto index = std::make_shared<FlatIndex>(static_cast<uint32_t>(dim), d.spec.metric);
  for (size_t i = 0; i < d.base.rows; ++i) {
    if (!index->add(i, std::span(d.base.row(i), dim)).ok()) std::abort();
  }
  auto to_ids = [](const std::vector<Neighbor>& ns, std::vector<int64_t>& out) {
    out.clear();
    for (const Neighbor& n : ns) out.push_back(static_cast<int64_t>(n.label));
  };
  return {"meridian FlatIndex",
          [&d, index, to_ids, k, dim](size_t qi, std::vector<int64_t>& out) {
            auto r = index->search(std::span(d.query.row(qi), dim), k);
            to_ids((*r)[0], out);
          },
          [&d, index, to_ids, k](Results& out) {
            auto r = index->search(d.query.values, k);
            for (size_t qi = 0; qi < out.size(); ++qi) to_ids((*r)[qi], out[qi]);
          }};
}

System faiss_system(const Dataset& d, size_t k) {
  const size_t dim = d.base.dim;
  const bool l2 = d.spec.metric == Metric::kL2;
  std::shared_ptr<faiss::IndexFlat> index;
  if (l2) {
    index = std::make_shared<faiss::IndexFlatL2>(dim);
  } else {
    index = std::make_shared<faiss::IndexFlatIP>(dim);
  }
  const bool cosine = d.spec.metric == Metric::kCosine;
  const std::vector<float>& base = cosine ? d.base_unit : d.base.values;
  const float* query = (cosine ? d.query_unit : d.query.values).data();
  index->add(static_cast<FaissId>(d.base.rows), base.data());
  auto distances = std::make_shared<std::vector<float>>(d.query.rows * k);
  auto labels = std::make_shared<std::vector<FaissId>>(d.query.rows * k);
  const auto fk = static_cast<FaissId>(k);
  return {"faiss IndexFlat" + std::string(l2 ? "L2" : "IP"),
          [=](size_t qi, std::vector<int64_t>& out) {
            index->search(1, query + qi * dim, fk, distances->data(), labels->data());
            out.assign(labels->begin(), labels->begin() + fk);
          },
          [=](Results& out) {
            index->search(static_cast<FaissId>(out.size()), query, fk, distances->data(),
                          labels->data());
            for (size_t qi = 0; qi < out.size(); ++qi) {
              const auto first = labels->begin() + static_cast<ptrdiff_t>(qi * k);
              out[qi].assign(first, first + fk);
            }
          }};
}

System hnswlib_system(const Dataset& d, size_t k) {
  const size_t dim = d.base.dim;
  std::shared_ptr<hnswlib::SpaceInterface<float>> space;
  if (d.spec.metric == Metric::kL2) {
    space = std::make_shared<hnswlib::L2Space>(dim);
  } else {
    space = std::make_shared<hnswlib::InnerProductSpace>(dim);
  }
  const bool cosine = d.spec.metric == Metric::kCosine;
  const std::vector<float>& base = cosine ? d.base_unit : d.base.values;
  const float* query = (cosine ? d.query_unit : d.query.values).data();
  // The index points at `space`; the deleter keeps the space alive as long as the index.
  auto index = std::shared_ptr<hnswlib::BruteforceSearch<float>>(
      new hnswlib::BruteforceSearch<float>(space.get(), d.base.rows),
      [space](hnswlib::BruteforceSearch<float>* p) { delete p; });
  for (size_t i = 0; i < d.base.rows; ++i) index->addPoint(base.data() + i * dim, i);
  return {"hnswlib BruteforceSearch",
          [=](size_t qi, std::vector<int64_t>& out) {
            auto pq = index->searchKnn(query + qi * dim, k);
            out.assign(pq.size(), -1);
            for (size_t j = pq.size(); j-- > 0; pq.pop()) {
              out[j] = static_cast<int64_t>(pq.top().second);
            }
          },
          nullptr};
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
  size_t start = 0;
  const char sep = arg.find(',') != std::string::npos ? ',' : ':';
  for (size_t pos; (pos = arg.find(sep, start)) != std::string::npos; start = pos + 1) {
    parts.push_back(arg.substr(start, pos - start));
  }
  parts.push_back(arg.substr(start));
  spec.metric = Metric::kL2;
  if (sep == ',') {
    if (parts.size() < 3 || (parts.size() == 4 && !parse_metric(parts[3], spec.metric))) {
      return false;
    }
    spec.name = parts[0];
    spec.base = parts[0];
    spec.query = parts[1];
    spec.groundtruth = parts[2];
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

int run(int argc, char** argv) {
  size_t k = 10, max_queries = 1000;
  int reps = 3;
  std::vector<DatasetSpec> specs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    DatasetSpec spec;
    if (arg.rfind("--k=", 0) == 0) {
      k = std::stoul(arg.substr(4));
    } else if (arg.rfind("--reps=", 0) == 0) {
      reps = std::max(1, std::stoi(arg.substr(7)));
    } else if (arg.rfind("--max-queries=", 0) == 0) {
      max_queries = std::stoul(arg.substr(14));
    } else if (arg.rfind("--", 0) != 0 && parse_dataset(arg, spec)) {
      specs.push_back(spec);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--k=10] [--max-queries=1000] [--reps=3] [DIR[:metric] | "
                   "BASE,QUERY,GT[,metric]]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (specs.empty()) {
    const std::string root = std::string(MERIDIAN_SOURCE_DIR) + "/../shared/datasets/";
    for (const char* d : {"sift5k:l2", "glove6b-100-angular:cosine"}) {
      DatasetSpec spec;
      parse_dataset(root + d, spec);
      specs.push_back(spec);
    }
  }
  omp_set_num_threads(1);
  bli_thread_set_num_threads(1);
  print_machine();
  for (const DatasetSpec& spec : specs) {
    Dataset d;
    d.spec = spec;
    auto base = read_fvecs(spec.base);
    auto query = read_fvecs(spec.query, max_queries);
    auto gt = read_ivecs(spec.groundtruth, max_queries);
    if (!base.ok() || !query.ok() || !gt.ok() || base->dim != query->dim ||
        gt->rows < query->rows || gt->dim < k) {
      std::fprintf(stderr, "%s: cannot load dataset\n", spec.name.c_str());
      return 1;
    }
    d.base = *std::move(base);
    d.query = *std::move(query);
    d.groundtruth = *std::move(gt);
    d.base_unit = normalised(d.base);
    d.query_unit = normalised(d.query);
    std::printf("## %s: %zu x %zu base, %zu queries, metric %s, k=%zu\n", spec.name.c_str(),
                d.base.rows, d.base.dim, d.query.rows,
                std::string(metric_name(spec.metric)).c_str(), k);
    const std::vector<Figures> all =
        measure({meridian_system(d, k), faiss_system(d, k), hnswlib_system(d, k)}, d, k, reps);
    std::printf("| system | single-query QPS | batch QPS | recall@%zu |\n|---|---:|---:|---:|\n",
                k);
    for (const Figures& f : all) {
      std::printf("| %s | %.0f | %.0f%s | %.4f |\n", f.system.c_str(), f.single_qps, f.batch_qps,
                  f.batch_is_loop ? " (loop)" : "", f.recall);
    }
    double best_single = 0, best_batch = 0;
    for (size_t i = 1; i < all.size(); ++i) {
      best_single = std::max(best_single, all[i].single_qps);
      best_batch = std::max(best_batch, all[i].batch_qps);
    }
    std::printf("Meridian / best peer: single %.2fx, batch %.2fx\n\n",
                all[0].single_qps / best_single, all[0].batch_qps / best_batch);
  }
  return 0;
}

}  // namespace
}  // namespace meridian::index

int main(int argc, char** argv) { return meridian::index::run(argc, argv); }
