// ann_bench: Meridian's indexes as systems under test: FlatIndex, HnswIndex (float32 and SQ8),
// IvfFlatIndex (float32 and SQ8) and IvfPqIndex (with and without re-ranking). All get the raw
// vectors and normalise internally under cosine, inside the timed build and search.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "bench/ann_bench.h"
#include "index/flat_index.h"
#include "index/hnsw_index.h"
#include "index/ivf_flat_index.h"
#include "index/ivf_pq_index.h"

namespace meridian::index::bench {
namespace {

void check(const absl::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::abort();
  }
}

std::vector<uint64_t> iota_labels(size_t n) {
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = i;
  return labels;
}

void to_ids(const std::vector<Neighbor>& in, std::vector<int64_t>& out) {
  out.clear();
  for (const Neighbor& nb : in) out.push_back(static_cast<int64_t>(nb.label));
}

// search(queries, k, param) over contiguous chunks of the query set, one chunk per thread.
template <typename Search>
void batch(const Dataset& d, size_t threads, std::vector<std::vector<int64_t>>& out,
           const Search& search) {
  const size_t dim = d.dim();
  parallel_chunks(d.query.rows, threads, [&](size_t begin, size_t end) {
    auto r = search(std::span(d.query.row(begin), (end - begin) * dim));
    check(r.status(), "batch search");
    for (size_t i = begin; i < end; ++i) to_ids((*r)[i - begin], out[i]);
  });
}

System flat_system(const Dataset& d, const Options& o, size_t threads) {
  const size_t dim = d.dim();
  // The batch path is BLIS GEMM with all threads; single queries take the SIMD scan.
  FlatIndexOptions options;
  options.gemm_threads = threads;
  auto index = std::make_shared<FlatIndex>(static_cast<uint32_t>(dim), d.spec.metric, options);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < d.base.rows; ++i) check(index->add(i, {d.base.row(i), dim}), "flat add");
  System s{"flat",
           "meridian FlatIndex",
           "meridian",
           "flat",
           "-",
           {0},
           seconds_since(t0),
           index->memory_bytes(),
           0,
           nullptr,
           nullptr};
  const size_t k = o.k;
  s.search_one = [&d, index, k, dim](size_t qi, size_t, std::vector<int64_t>& out) {
    auto r = index->search({d.query.row(qi), dim}, k);
    to_ids((*r)[0], out);
  };
  s.search_batch = [&d, index, k](size_t, size_t, std::vector<std::vector<int64_t>>& out) {
    auto r = index->search(d.query.values, k);
    check(r.status(), "flat batch");
    for (size_t i = 0; i < out.size(); ++i) to_ids((*r)[i], out[i]);
  };
  return s;
}

System hnsw_system(const Dataset& d, const Options& o, Quantization quantization) {
  const size_t dim = d.dim();
  const HnswParams params{.m = static_cast<uint32_t>(o.m),
                          .ef_construction = static_cast<uint32_t>(o.ef_construction),
                          .quantization = quantization};
  auto index = std::make_shared<HnswIndex>(static_cast<uint32_t>(dim), d.spec.metric, params);
  const auto t0 = std::chrono::steady_clock::now();
  check(index->add_batch(iota_labels(d.base.rows), d.base.values, 1), "hnsw build");
  const bool sq8 = quantization == Quantization::kSq8;
  System s{sq8 ? "hnsw-sq8" : "hnsw",
           sq8 ? "meridian HnswIndex sq8" : "meridian HnswIndex",
           "meridian",
           "hnsw",
           "ef",
           o.efs,
           seconds_since(t0),
           index->memory_bytes(),
           index->rerank_store_bytes(),
           nullptr,
           nullptr};
  const size_t k = o.k;
  s.search_one = [&d, index, k, dim](size_t qi, size_t ef, std::vector<int64_t>& out) {
    auto r = index->search({d.query.row(qi), dim}, k, ef);
    to_ids((*r)[0], out);
  };
  s.search_batch = [&d, index, k](size_t ef, size_t threads,
                                  std::vector<std::vector<int64_t>>& out) {
    batch(d, threads, out, [&](std::span<const float> q) { return index->search(q, k, ef); });
  };
  return s;
}

System ivf_flat_system(const Dataset& d, const Options& o, Quantization quantization) {
  const size_t dim = d.dim();
  const IvfFlatParams params{.nlist = static_cast<uint32_t>(ivf_lists(o, d.base.rows)),
                             .quantization = quantization};
  auto index = std::make_shared<IvfFlatIndex>(static_cast<uint32_t>(dim), d.spec.metric, params);
  const auto t0 = std::chrono::steady_clock::now();
  check(index->add_batch(iota_labels(d.base.rows), d.base.values), "ivf-flat build");
  const bool sq8 = quantization == Quantization::kSq8;
  System s{sq8 ? "ivf-flat-sq8" : "ivf-flat",
           sq8 ? "meridian IvfFlatIndex sq8" : "meridian IvfFlatIndex",
           "meridian",
           "ivf-flat",
           "nprobe",
           o.nprobes,
           seconds_since(t0),
           index->memory_bytes(),
           index->rerank_store_bytes(),
           nullptr,
           nullptr};
  const size_t k = o.k;
  s.search_one = [&d, index, k, dim](size_t qi, size_t nprobe, std::vector<int64_t>& out) {
    auto r = index->search({d.query.row(qi), dim}, k, nprobe);
    to_ids((*r)[0], out);
  };
  s.search_batch = [&d, index, k](size_t nprobe, size_t threads,
                                  std::vector<std::vector<int64_t>>& out) {
    batch(d, threads, out, [&](std::span<const float> q) { return index->search(q, k, nprobe); });
  };
  return s;
}

// One IvfPqIndex with a re-rank store serves both systems: "ivf-pq" searches it without
// refinement and reports its memory without the store (what an index built with refine_factor 0
// holds), "ivf-pq+refine" re-ranks.
std::vector<System> ivf_pq_systems(const Dataset& d, const Options& o) {
  const size_t dim = d.dim();
  const IvfPqParams params{.nlist = static_cast<uint32_t>(ivf_lists(o, d.base.rows)),
                           .m = static_cast<uint32_t>(pq_subquantizers(o, dim)),
                           .refine_factor = static_cast<uint32_t>(o.refine)};
  auto index = std::make_shared<IvfPqIndex>(static_cast<uint32_t>(dim), d.spec.metric, params);
  const auto t0 = std::chrono::steady_clock::now();
  check(index->add_batch(iota_labels(d.base.rows), d.base.values), "ivf-pq build");
  const double build = seconds_since(t0);
  std::vector<System> out;
  for (uint32_t refine : {0u, static_cast<uint32_t>(o.refine)}) {
    const bool refined = refine > 0;
    System s{refined ? "ivf-pq-refine" : "ivf-pq",
             refined ? "meridian IvfPqIndex+refine" : "meridian IvfPqIndex",
             "meridian",
             refined ? "ivf-pq+refine" : "ivf-pq",
             "nprobe",
             o.nprobes,
             build,
             index->memory_bytes() - (refined ? 0 : index->rerank_store_bytes()),
             refined ? index->rerank_store_bytes() : 0,
             nullptr,
             nullptr};
    const size_t k = o.k;
    s.search_one = [&d, index, k, dim, refine](size_t qi, size_t nprobe,
                                               std::vector<int64_t>& ids) {
      auto r = index->search({d.query.row(qi), dim}, k, nprobe, nullptr, refine);
      to_ids((*r)[0], ids);
    };
    s.search_batch = [&d, index, k, refine](size_t nprobe, size_t threads,
                                            std::vector<std::vector<int64_t>>& ids) {
      batch(d, threads, ids,
            [&](std::span<const float> q) { return index->search(q, k, nprobe, nullptr, refine); });
    };
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::vector<System> meridian_systems(const Dataset& d, const Options& o) {
  std::vector<System> out;
  const auto announce = [](const char* id) {
    std::printf("  building meridian %s ...\n", id);
    std::fflush(stdout);
  };
  if (o.wants("flat")) {
    announce("flat");
    out.push_back(flat_system(d, o, o.threads));
  }
  for (Quantization q : {Quantization::kNone, Quantization::kSq8}) {
    const std::string id = q == Quantization::kSq8 ? "hnsw-sq8" : "hnsw";
    if (o.wants(id)) {
      announce(id.c_str());
      out.push_back(hnsw_system(d, o, q));
    }
  }
  for (Quantization q : {Quantization::kNone, Quantization::kSq8}) {
    const std::string id = q == Quantization::kSq8 ? "ivf-flat-sq8" : "ivf-flat";
    if (o.wants(id)) {
      announce(id.c_str());
      out.push_back(ivf_flat_system(d, o, q));
    }
  }
  if (o.wants("ivf-pq") || o.wants("ivf-pq-refine")) {
    announce("ivf-pq");
    for (System& s : ivf_pq_systems(d, o)) {
      if (o.wants(s.id)) out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace meridian::index::bench
