// GPU against CPU on one fvecs/ivecs dataset, in one run: exact search (GpuFlatSearcher against
// FlatIndex's BLIS GEMM path) and IVF-Flat at several nprobe (GpuIvfFlatSearcher against
// IvfFlatIndex, the same trained index). Prints recall@k against the ground truth, batch QPS (all
// queries in one call; the CPU side on every hardware thread) and the GPU/CPU ratio. Without a
// usable GPU it says it is skipping and exits 0.
//
// Usage: gpu_search_bench BASE.fvecs QUERY.fvecs GROUNDTRUTH.ivecs [--metric=l2|cosine|ip]
//                         [--k=10] [--nlist=0] [--nprobes=1,4,16,64] [--max-queries=0]
//                         [--min-seconds=1]
//   --nlist=0 uses round(4 sqrt(n)) lists; --max-queries=0 uses every query.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "index/flat_index.h"
#include "index/gpu_search.h"
#include "index/ivf_flat_index.h"
#include "tests/index/fvecs_reader.h"

namespace meridian::index {
namespace {

struct Options {
  std::string base, query, truth;
  Metric metric = Metric::kL2;
  size_t k = 10, nlist = 0, max_queries = 0;
  double min_seconds = 1.0;
  std::vector<size_t> nprobes = {1, 4, 16, 64};
};

bool parse_size(const std::string& text, size_t& out) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) return false;
  out = static_cast<size_t>(v);
  return true;
}

bool parse_args(int argc, char** argv, Options& o) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string key = arg, value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    bool ok = true;
    if (!arg.starts_with("--")) {
      files.push_back(arg);
    } else if (key == "--metric") {
      ok = value == "l2" || value == "cosine" || value == "ip";
      o.metric = value == "l2"   ? Metric::kL2
                 : value == "ip" ? Metric::kInnerProduct
                                 : Metric::kCosine;
    } else if (key == "--k") {
      ok = parse_size(value, o.k) && o.k >= 1 && o.k <= kGpuMaxK;
    } else if (key == "--nlist") {
      ok = parse_size(value, o.nlist);
    } else if (key == "--max-queries") {
      ok = parse_size(value, o.max_queries);
    } else if (key == "--min-seconds") {
      ok = absl::SimpleAtod(value, &o.min_seconds);
    } else if (key == "--nprobes") {
      o.nprobes.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        size_t v = 0;
        ok = ok && parse_size(std::string(part), v) && v >= 1;
        o.nprobes.push_back(v);
      }
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "gpu_search_bench: bad argument '%s'\n", arg.c_str());
      return false;
    }
  }
  if (files.size() != 3) {
    std::fprintf(stderr,
                 "usage: gpu_search_bench BASE.fvecs QUERY.fvecs GROUNDTRUTH.ivecs "
                 "[--metric=l2|cosine|ip] [--k=10] [--nlist=0] [--nprobes=1,4,16,64] "
                 "[--max-queries=0] [--min-seconds=1]\n");
    return false;
  }
  o.base = files[0];
  o.query = files[1];
  o.truth = files[2];
  return true;
}

using Results = std::vector<std::vector<Neighbor>>;

// A benchmark has no caller to hand an error to: report it and stop.
Results must(absl::StatusOr<Results> results) {
  if (!results.ok()) {
    std::fprintf(stderr, "gpu_search_bench: search failed: %s\n",
                 results.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*results);
}

// Best queries per second of `search` over at least min_seconds (one warm-up call first).
double batch_qps(size_t nq, double min_seconds, const std::function<Results()>& search,
                 Results& out) {
  out = search();
  double best = 0, total = 0;
  for (int rep = 0; rep < 3 || total < min_seconds; ++rep) {
    auto start = std::chrono::steady_clock::now();
    out = search();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total += s;
    best = std::max(best, static_cast<double>(nq) / std::max(s, 1e-9));
  }
  return best;
}

double recall_at(const Results& got, const testing::VecsMatrix<int32_t>& truth, size_t k) {
  size_t hits = 0;
  for (size_t q = 0; q < got.size(); ++q) {
    std::set<int64_t> want(truth.row(q), truth.row(q) + std::min(k, truth.dim));
    for (size_t i = 0; i < std::min(k, got[q].size()); ++i) {
      hits += want.count(static_cast<int64_t>(got[q][i].label));
    }
  }
  return static_cast<double>(hits) / static_cast<double>(got.size() * std::min(k, truth.dim));
}

// IvfFlatIndex::search is const and thread-safe: split the batch over every hardware thread.
Results cpu_ivf_batch(const IvfFlatIndex& ivf, std::span<const float> queries, size_t k,
                      size_t nprobe) {
  const size_t dim = ivf.dim(), nq = queries.size() / dim;
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  Results out(nq);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    const size_t begin = nq * t / threads, end = nq * (t + 1) / threads;
    workers.emplace_back([&, begin, end] {
      auto part = ivf.search(queries.subspan(begin * dim, (end - begin) * dim), k, nprobe);
      if (part.ok()) std::move(part->begin(), part->end(), out.begin() + begin);
    });
  }
  for (auto& w : workers) w.join();
  return out;
}

void row(const char* system, const std::string& param, double recall, double qps, double cpu_qps) {
  std::printf("| %-28s | %6s | %9.4f | %12.0f | %9s |\n", system, param.c_str(), recall, qps,
              cpu_qps > 0 ? (std::to_string(qps / cpu_qps).substr(0, 6) + "x").c_str() : "");
}

int run(const Options& o) {
  auto base = testing::read_fvecs(o.base);
  auto query = testing::read_fvecs(o.query, o.max_queries);
  auto truth = testing::read_ivecs(o.truth, o.max_queries);
  if (!base.ok() || !query.ok() || !truth.ok()) {
    std::fprintf(stderr, "gpu_search_bench: cannot read the dataset: %s %s %s\n",
                 base.status().ToString().c_str(), query.status().ToString().c_str(),
                 truth.status().ToString().c_str());
    return 1;
  }
  const auto dim = static_cast<uint32_t>(base->dim);
  const size_t n = base->rows, nq = query->rows;
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = i;
  std::printf(
      "gpu_search_bench: %zu base x %u dims, %zu queries, %s, k=%zu; GPU: %s; CPU: %u "
      "threads\n\n",
      n, dim, nq, std::string(metric_name(o.metric)).c_str(), o.k, gpu_description().c_str(),
      std::thread::hardware_concurrency());
  std::printf("| %-28s | %6s | %9s | %12s | %9s |\n", "system", "nprobe", "recall@k", "batch QPS",
              "GPU/CPU");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(8, '-').c_str(),
              std::string(11, '-').c_str(), std::string(14, '-').c_str(),
              std::string(11, '-').c_str());

  // Exact search.
  FlatIndexOptions flat_options;
  flat_options.gemm_threads = std::max(1u, std::thread::hardware_concurrency());
  FlatIndex flat(dim, o.metric, flat_options);
  for (size_t i = 0; i < n; ++i) {
    if (auto s = flat.add(i, std::span<const float>(base->row(i), dim)); !s.ok()) {
      std::fprintf(stderr, "gpu_search_bench: base vector %zu: %s\n", i, s.ToString().c_str());
      return 1;
    }
  }
  Results got;
  const double cpu_flat = batch_qps(
      nq, o.min_seconds, [&] { return must(flat.search(query->values, o.k)); }, got);
  row("FlatIndex (CPU, BLIS)", "-", recall_at(got, *truth, o.k), cpu_flat, 0);
  auto gpu_flat = GpuFlatSearcher::create(dim, o.metric, labels, base->values);
  if (!gpu_flat.ok()) {
    std::fprintf(stderr, "gpu_search_bench: %s\n", gpu_flat.status().ToString().c_str());
    return 1;
  }
  const double gpu_flat_qps = batch_qps(
      nq, o.min_seconds, [&] { return must((*gpu_flat)->search(query->values, o.k)); }, got);
  row("GpuFlatSearcher", "-", recall_at(got, *truth, o.k), gpu_flat_qps, cpu_flat);
  gpu_flat->reset();  // frees its device memory before the IVF copy is made

  // IVF-Flat: one trained index, searched on both sides.
  IvfFlatIndex ivf(dim, o.metric, IvfFlatParams{.nlist = static_cast<uint32_t>(o.nlist)});
  auto start = std::chrono::steady_clock::now();
  if (auto s = ivf.add_batch(labels, base->values); !s.ok()) {
    std::fprintf(stderr, "gpu_search_bench: IVF build: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("\nIVF-Flat: nlist %u, built in %.1f s on the CPU\n", ivf.nlist(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  auto gpu_ivf = GpuIvfFlatSearcher::create(ivf);
  if (!gpu_ivf.ok()) {
    std::fprintf(stderr, "gpu_search_bench: %s\n", gpu_ivf.status().ToString().c_str());
    return 1;
  }
  for (size_t nprobe : o.nprobes) {
    if (nprobe > ivf.nlist()) continue;
    if (nprobe > kGpuMaxK && nprobe < ivf.nlist()) continue;
    const double cpu = batch_qps(
        nq, o.min_seconds, [&] { return cpu_ivf_batch(ivf, query->values, o.k, nprobe); }, got);
    row("IvfFlatIndex (CPU)", std::to_string(nprobe), recall_at(got, *truth, o.k), cpu, 0);
    const double gpu = batch_qps(
        nq, o.min_seconds, [&] { return must((*gpu_ivf)->search(query->values, o.k, nprobe)); },
        got);
    row("GpuIvfFlatSearcher", std::to_string(nprobe), recall_at(got, *truth, o.k), gpu, cpu);
  }
  return 0;
}

}  // namespace
}  // namespace meridian::index

int main(int argc, char** argv) {
  meridian::index::Options options;
  if (!meridian::index::parse_args(argc, argv, options)) return 2;
  if (!meridian::index::gpu_available()) {
    std::printf("gpu_search_bench: skipping: %s\n", meridian::index::gpu_description().c_str());
    return 0;
  }
  return meridian::index::run(options);
}
