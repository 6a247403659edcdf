// ann_bench: the peer systems: hnswlib HierarchicalNSW and FAISS IndexFlat, IndexHNSWFlat,
// IndexIVFFlat, IndexIVFPQ and IndexRefineFlat over IndexIVFPQ, with the same parameters as
// Meridian's indexes. Under cosine the peers get unit vectors and inner product. Memory is the
// size of each structure's containers (not RSS), so it is comparable with memory_bytes().
#include <blis.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexRefine.h>
#include <faiss/invlists/InvertedLists.h>
#include <hnswlib/hnswlib.h>
#include <omp.h>

#include <cstdio>
#include <memory>

#include "bench/ann_bench.h"

namespace meridian::index::bench {
namespace {

using idx_t = faiss::Index::idx_t;

faiss::MetricType faiss_metric(const Dataset& d) {
  return d.spec.metric == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

size_t flat_bytes(const faiss::IndexFlatCodes& index) { return index.codes.capacity(); }

// Coarse centroids plus the inverted lists' codes and ids (capacities, like memory_bytes()).
size_t ivf_bytes(const faiss::IndexIVF& index) {
  size_t bytes = flat_bytes(dynamic_cast<const faiss::IndexFlatCodes&>(*index.quantizer));
  const auto& lists = dynamic_cast<const faiss::ArrayInvertedLists&>(*index.invlists);
  for (size_t l = 0; l < index.nlist; ++l) {
    bytes += lists.codes[l].capacity() + lists.ids[l].capacity() * sizeof(idx_t);
  }
  return bytes;
}

// FAISS searches: one query with OpenMP and BLIS on one thread; a batch with `threads` of each
// (FAISS parallelises over queries, and IndexFlat's batch is BLAS sgemm).
void faiss_search(const faiss::Index& index, const float* queries, size_t nq, size_t k,
                  size_t threads, std::vector<float>& distances, std::vector<idx_t>& ids) {
  distances.resize(nq * k);
  ids.resize(nq * k);
  if (threads > 1) {
    omp_set_num_threads(static_cast<int>(threads));
    bli_thread_set_num_threads(static_cast<dim_t>(threads));
  }
  index.search(static_cast<idx_t>(nq), queries, static_cast<idx_t>(k), distances.data(),
               ids.data());
  if (threads > 1) {
    omp_set_num_threads(1);
    bli_thread_set_num_threads(1);
  }
}

// Wraps a FAISS index: `configure(param)` sets ef or nprobe before each search.
System faiss_system(std::string id, std::string name, std::string kind, std::string sweep_name,
                    std::vector<size_t> sweep, std::shared_ptr<faiss::Index> index,
                    std::function<void(size_t)> configure, const Dataset& d, const Options& o) {
  System s{std::move(id),
           std::move(name),
           "faiss",
           std::move(kind),
           std::move(sweep_name),
           std::move(sweep),
           0,
           0,
           0,
           nullptr,
           nullptr};
  const size_t k = o.k, dim = d.dim();
  const float* queries = d.peer_queries().data();
  auto distances = std::make_shared<std::vector<float>>();
  auto ids = std::make_shared<std::vector<idx_t>>();
  s.search_one = [=](size_t qi, size_t param, std::vector<int64_t>& out) {
    configure(param);
    faiss_search(*index, queries + qi * dim, 1, k, 1, *distances, *ids);
    out.assign(ids->begin(), ids->end());
  };
  s.search_batch = [=, &d](size_t param, size_t threads, std::vector<std::vector<int64_t>>& out) {
    configure(param);
    faiss_search(*index, queries, d.query.rows, k, threads, *distances, *ids);
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].assign(ids->begin() + static_cast<ptrdiff_t>(i * k),
                    ids->begin() + static_cast<ptrdiff_t>((i + 1) * k));
    }
  };
  return s;
}

System hnswlib_system(const Dataset& d, const Options& o) {
  const size_t n = d.base.rows, dim = d.dim();
  const float* base = d.peer_base().data();
  const float* query = d.peer_queries().data();
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
  System s{"hnswlib", "hnswlib HierarchicalNSW", "hnswlib", "hnsw", "ef",
           o.efs,     seconds_since(t0),         0,         0,      nullptr,
           nullptr};
  // Level-0 block, upper-level link lists, per-element level and lock, pointer table, the
  // 65,536 update locks and the label map (about 32 bytes per entry plus its bucket).
  size_t bytes = index->max_elements_ *
                 (index->size_data_per_element_ + sizeof(void*) + sizeof(int) + sizeof(std::mutex));
  for (size_t i = 0; i < index->cur_element_count; ++i) {
    bytes += index->size_links_per_element_ * static_cast<size_t>(index->element_levels_[i]);
  }
  bytes += index->link_list_update_locks_.size() * sizeof(std::mutex);
  bytes += index->label_lookup_.size() * 32 + index->label_lookup_.bucket_count() * sizeof(void*);
  s.memory_bytes = bytes;
  const size_t k = o.k;
  s.search_one = [index, query, k, dim](size_t qi, size_t ef, std::vector<int64_t>& out) {
    index->setEf(ef);
    auto pq = index->searchKnn(query + qi * dim, k);
    out.assign(pq.size(), -1);
    for (size_t j = pq.size(); j-- > 0; pq.pop()) out[j] = static_cast<int64_t>(pq.top().second);
  };
  s.search_batch = [index, query, k, dim, &d](size_t ef, size_t threads,
                                              std::vector<std::vector<int64_t>>& out) {
    index->setEf(ef);  // Set once: searchKnn only reads it.
    parallel_chunks(d.query.rows, threads, [&](size_t begin, size_t end) {
      for (size_t qi = begin; qi < end; ++qi) {
        auto pq = index->searchKnn(query + qi * dim, k);
        out[qi].assign(pq.size(), -1);
        for (size_t j = pq.size(); j-- > 0; pq.pop()) {
          out[qi][j] = static_cast<int64_t>(pq.top().second);
        }
      }
    });
  };
  return s;
}

}  // namespace

std::vector<System> peer_systems(const Dataset& d, const Options& o) {
  std::vector<System> out;
  const size_t n = d.base.rows, dim = d.dim();
  const float* base = d.peer_base().data();
  const auto announce = [](const char* id) {
    std::printf("  building %s ...\n", id);
    std::fflush(stdout);
  };
  if (o.wants("hnswlib")) {
    announce("hnswlib");
    out.push_back(hnswlib_system(d, o));
  }
  if (o.wants("faiss-flat")) {
    announce("faiss-flat");
    std::shared_ptr<faiss::IndexFlat> index;
    const auto t0 = std::chrono::steady_clock::now();
    if (d.spec.metric == Metric::kL2) {
      index = std::make_shared<faiss::IndexFlatL2>(static_cast<idx_t>(dim));
    } else {
      index = std::make_shared<faiss::IndexFlatIP>(static_cast<idx_t>(dim));
    }
    index->add(static_cast<idx_t>(n), base);
    System s = faiss_system(
        "faiss-flat", d.spec.metric == Metric::kL2 ? "faiss IndexFlatL2" : "faiss IndexFlatIP",
        "flat", "-", {0}, index, [](size_t) {}, d, o);
    s.build_seconds = seconds_since(t0);
    s.memory_bytes = flat_bytes(*index);
    out.push_back(std::move(s));
  }
  if (o.wants("faiss-hnsw")) {
    announce("faiss-hnsw");
    const auto t0 = std::chrono::steady_clock::now();
    auto index = std::make_shared<faiss::IndexHNSWFlat>(static_cast<int>(dim),
                                                        static_cast<int>(o.m), faiss_metric(d));
    index->hnsw.efConstruction = static_cast<int>(o.ef_construction);
    index->add(static_cast<idx_t>(n), base);
    faiss::IndexHNSWFlat* raw = index.get();
    System s = faiss_system(
        "faiss-hnsw", "faiss IndexHNSWFlat", "hnsw", "ef", o.efs, index,
        [raw](size_t ef) { raw->hnsw.efSearch = static_cast<int>(ef); }, d, o);
    s.build_seconds = seconds_since(t0);
    const faiss::HNSW& h = index->hnsw;
    s.memory_bytes = flat_bytes(dynamic_cast<const faiss::IndexFlatCodes&>(*index->storage)) +
                     h.neighbors.capacity() * sizeof(faiss::HNSW::storage_idx_t) +
                     h.offsets.capacity() * sizeof(size_t) + h.levels.capacity() * sizeof(int);
    out.push_back(std::move(s));
  }
  const size_t nlist = ivf_lists(o, n);
  if (o.wants("faiss-ivf-flat")) {
    announce("faiss-ivf-flat");
    const auto t0 = std::chrono::steady_clock::now();
    auto quantizer = std::make_shared<faiss::IndexFlat>(static_cast<idx_t>(dim), faiss_metric(d));
    auto index = std::shared_ptr<faiss::IndexIVFFlat>(
        new faiss::IndexIVFFlat(quantizer.get(), dim, nlist, faiss_metric(d)),
        [quantizer](faiss::IndexIVFFlat* p) { delete p; });
    index->train(static_cast<idx_t>(n), base);
    index->add(static_cast<idx_t>(n), base);
    faiss::IndexIVFFlat* raw = index.get();
    System s = faiss_system(
        "faiss-ivf-flat", "faiss IndexIVFFlat", "ivf-flat", "nprobe", o.nprobes, index,
        [raw](size_t p) { raw->nprobe = p; }, d, o);
    s.build_seconds = seconds_since(t0);
    s.memory_bytes = ivf_bytes(*index);
    out.push_back(std::move(s));
  }
  const size_t m = pq_subquantizers(o, dim);
  if ((o.wants("faiss-ivf-pq") || o.wants("faiss-ivf-pq-refine")) && dim % m != 0) {
    std::printf("  skipping faiss IVF-PQ: m=%zu does not divide dim=%zu\n", m, dim);
  } else if (o.wants("faiss-ivf-pq") || o.wants("faiss-ivf-pq-refine")) {
    announce("faiss-ivf-pq");
    const auto t0 = std::chrono::steady_clock::now();
    auto quantizer = std::make_shared<faiss::IndexFlat>(static_cast<idx_t>(dim), faiss_metric(d));
    auto index = std::shared_ptr<faiss::IndexIVFPQ>(
        new faiss::IndexIVFPQ(quantizer.get(), dim, nlist, m, 8, faiss_metric(d)),
        [quantizer](faiss::IndexIVFPQ* p) { delete p; });
    index->train(static_cast<idx_t>(n), base);
    index->add(static_cast<idx_t>(n), base);
    const double build = seconds_since(t0);
    faiss::IndexIVFPQ* raw = index.get();
    const size_t pq_bytes = ivf_bytes(*index) + index->pq.centroids.capacity() * sizeof(float) +
                            index->precomputed_table.size() * sizeof(float);
    if (o.wants("faiss-ivf-pq")) {
      System s = faiss_system(
          "faiss-ivf-pq", "faiss IndexIVFPQ", "ivf-pq", "nprobe", o.nprobes, index,
          [raw](size_t p) { raw->nprobe = p; }, d, o);
      s.build_seconds = build;
      s.memory_bytes = pq_bytes;
      out.push_back(std::move(s));
    }
    if (o.wants("faiss-ivf-pq-refine")) {
      // The refine wrapper shares the IVF-PQ index (not owned) and copies the vectors.
      const auto t1 = std::chrono::steady_clock::now();
      auto refine = std::shared_ptr<faiss::IndexRefineFlat>(
          new faiss::IndexRefineFlat(raw, base), [index](faiss::IndexRefineFlat* p) { delete p; });
      refine->k_factor = static_cast<float>(o.refine);
      System s = faiss_system(
          "faiss-ivf-pq-refine", "faiss IndexRefineFlat(IVFPQ)", "ivf-pq+refine", "nprobe",
          o.nprobes, refine, [raw](size_t p) { raw->nprobe = p; }, d, o);
      s.build_seconds = build + seconds_since(t1);
      s.rerank_bytes =
          flat_bytes(dynamic_cast<const faiss::IndexFlatCodes&>(*refine->refine_index));
      s.memory_bytes = pq_bytes + s.rerank_bytes;
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace meridian::index::bench
