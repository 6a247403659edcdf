// Approximate k-nearest-neighbour index: inverted file with flat lists of float32 vectors or of
// SQ8 codes. A k-means coarse quantiser splits the space into nlist cells; each vector is stored
// in its cell's list, and a search scans only the nprobe lists whose centroids best match the
// query (faiss IndexIVFFlat / IndexIVFScalarQuantizer: coarse quantiser, list storage, per-list
// scanner).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/distance.h"
#include "index/hnsw_index.h"  // LabelFilter
#include "index/metric.h"
#include "index/quantized_distance.h"
#include "index/scalar_quantizer.h"
#include "index/top_k.h"
#include "index/vector_check.h"

namespace meridian::index {

struct IvfFlatParams {
  // Number of lists. 0 = chosen at training time as round(4 * sqrt(n)) clamped to [1, min(n,
  // 65536)], n being the number of training vectors. Explicit range [1, 65536].
  uint32_t nlist = 0;
  // Lists scanned by a search that passes nprobe = 0. Range [1, 65536]; a value above nlist acts
  // as nlist. Recall grows and speed drops with nprobe; nprobe = nlist is an exact search.
  uint32_t nprobe = 16;
  // Most vectors k-means trains on (sub-sampled deterministically); 0 = 256 * nlist.
  size_t train_sample = 0;
  // Lloyd iterations of the coarse quantiser's k-means. Range [1, 1000].
  uint32_t kmeans_iterations = 20;
  // Seed of the k-means sampling and initialisation: equal data and params give equal lists.
  uint64_t seed = 42;
  // What the lists hold for scanning. kSq8: one uint8 code per dimension (4x less to stream);
  // the float32 vectors go to a separate re-rank store that re-scores each search's best
  // candidates. The SQ8 ranges are trained with the coarse quantiser, on the same vectors.
  Quantization quantization = Quantization::kNone;
  // Under kSq8, a search re-scores its best refine_factor * k candidates (by code distance) with
  // the float32 vectors and returns those exact scores. Range [1, 1024]; ignored under kNone.
  uint32_t refine_factor = 2;

  // InvalidArgument naming the first parameter out of range.
  absl::Status validate() const;
};

// IVF-Flat index over `dim`-dimensional vectors with FlatIndex's score conventions: kL2 squared
// Euclidean distance (lower is better), kInnerProduct dot product and kCosine cosine similarity
// (higher is better; stored vectors and queries are normalised, a zero vector scores 0); results
// best first, equal scores in label order. Under kNone scores are computed with the same kernels
// as FlatIndex, so with nprobe = nlist the results equal FlatIndex's scan results exactly. Under
// kSq8 the returned scores are exact too (re-scored), but which candidates reach re-scoring
// depends on the codes; vector components outside the trained SQ8 ranges saturate.
//
// Coarse quantiser: under kL2 Euclidean k-means, under kCosine and kInnerProduct spherical
// k-means (unit centroids; a vector goes to the list with the largest inner product). The
// quantiser is trained once (train(), or the first add_batch()) and never retrained; vectors
// added later go to their nearest existing centroid.
//
// Thread safety: const methods (search, memory_bytes, ...) may run concurrently with each other;
// search keeps all scratch on its own stack. train, add, add_batch and remove must not overlap
// with any other call on the same index (callers serialise them, e.g. with a reader-writer lock).
class IvfFlatIndex {
 public:
  using Neighbor = index::Neighbor;

  // Largest dimension accepted by create() and load().
  static constexpr uint32_t kMaxDim = 65536;

  // Preconditions: 1 <= dim <= kMaxDim and params.validate().ok(); use create() for untrusted
  // configs.
  IvfFlatIndex(uint32_t dim, Metric metric, IvfFlatParams params = {});

  // Validating constructor: InvalidArgument for dim outside [1, kMaxDim] or bad params.
  static absl::StatusOr<IvfFlatIndex> create(uint32_t dim, Metric metric,
                                             IvfFlatParams params = {});

  // Trains the coarse quantiser on the n = vectors.size() / dim() row-major `vectors` (they are
  // not added). FailedPrecondition: already trained. InvalidArgument: n == 0, buffer not a
  // multiple of dim(), a bad vector (see check_vector), or an explicit nlist above n.
  absl::Status train(std::span<const float> vectors);

  // Stores `vector` under `label` in the list of its nearest centroid, replacing any vector
  // already stored under `label`. FailedPrecondition: not trained (use train() or add_batch()).
  // InvalidArgument: see check_vector. ResourceExhausted: a list already holds 2^32 - 1 vectors.
  absl::Status add(uint64_t label, std::span<const float> vector);

  // Adds labels.size() row-major vectors (vectors.size() == labels.size() * dim()), training the
  // quantiser on them first when it is untrained. All-or-nothing: every vector is validated
  // before any is stored. Later duplicates of a label within the batch replace earlier ones.
  // Assignment uses BLIS sgemm (one call per block of vectors).
  absl::Status add_batch(std::span<const uint64_t> labels, std::span<const float> vectors);

  // Removes the vector stored under `label` (the last entry of its list moves into its slot);
  // false when there was none.
  bool remove(uint64_t label);

  // For each of the nq = queries.size() / dim() row-major queries, the min(k, accepted) best
  // stored vectors among the lists of the `nprobe` centroids closest to the query (nprobe = 0
  // uses params().nprobe; a value above nlist() is clamped to nlist()), restricted to labels
  // `filter` accepts (all when null; consulted while scanning, before top-k selection). An
  // untrained or empty index returns empty lists.
  // InvalidArgument: k == 0, queries.size() not a multiple of dim(), a non-finite query
  // component or a query norm above kMaxVectorNorm.
  absl::StatusOr<std::vector<std::vector<Neighbor>>> search(
      std::span<const float> queries, size_t k, size_t nprobe = 0,
      const LabelFilter* filter = nullptr) const;

  bool is_trained() const { return nlist_ != 0; }
  // Lists of the trained quantiser; 0 before training.
  uint32_t nlist() const { return nlist_; }
  // Centroids, nlist() * dim() floats row-major (unit length under kCosine / kInnerProduct).
  std::span<const float> centroids() const { return centroids_; }
  // Vectors stored in list `list` (< nlist()).
  size_t list_size(uint32_t list) const { return lists_[list].labels.size(); }
  // The labels of list `list` (< nlist()) and its row-major float32 vectors (normalised under
  // kCosine; under kSq8 the re-rank store), row i under labels[i]: what a GPU copy uploads.
  std::span<const uint64_t> list_labels(uint32_t list) const { return lists_[list].labels; }
  std::span<const float> list_vectors(uint32_t list) const { return lists_[list].data; }
  bool contains(uint64_t label) const { return where_.contains(label); }
  size_t size() const { return where_.size(); }
  uint32_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  const IvfFlatParams& params() const { return params_; }
  // The trained SQ8 quantiser (untrained under kNone or before training).
  const ScalarQuantizer& quantizer() const { return quantizer_; }
  // Heap bytes held by centroids, lists (codes and re-rank store included) and the label map
  // (capacities, not sizes).
  size_t memory_bytes() const;
  // The part of memory_bytes() held by the float32 re-rank store: 0 under kNone.
  size_t rerank_store_bytes() const;

  // Appends the versioned encoding of the whole index (parameters, quantisers, lists) to `*out`.
  // Format in ivf_flat_index_io.cc and docs/formats.md. Never fails today.
  absl::Status save(std::string* out) const;
  // Decodes bytes written by save(). DataLoss for anything malformed (bad magic, unknown version,
  // truncation, checksum mismatch, bad parameters, inconsistent sizes, non-finite or
  // out-of-range vectors, duplicate labels); never crashes on untrusted input.
  static absl::StatusOr<IvfFlatIndex> load(std::string_view bytes);

 private:
  struct List {
    // Row-major float32 vectors (normalised under kCosine): scanned under kNone, the re-rank
    // store under kSq8.
    std::vector<float> data;
    std::vector<uint8_t> codes;  // kSq8: row-major SQ8 codes, scanned.
    std::vector<uint64_t> labels;
  };
  struct Location {
    uint32_t list;
    uint32_t row;
  };

  // Stores an already validated vector in `list`.
  absl::Status store(uint64_t label, std::span<const float> vector, uint32_t list);
  // Trains on validated vectors.
  absl::Status train_unchecked(std::span<const float> vectors);
  // Best list for one validated vector.
  uint32_t nearest_list(std::span<const float> vector) const;
  // Per-search working memory, kept on the searching thread's stack.
  struct Scratch {
    std::vector<float> query;     // Normalised under kCosine.
    std::vector<float> prepared;  // kSq8: the query combined with the SQ8 ranges.
    std::vector<float> scores;
    std::vector<uint64_t> keys;
    std::vector<Neighbor> probes;
    std::vector<Neighbor> candidates;
  };
  bool quantized() const { return params_.quantization == Quantization::kSq8; }
  // The nprobe best lists for a prepared query, best first, in scratch.probes.
  void probe(const float* query, size_t nprobe, Scratch& scratch) const;
  // Fills `out` with the best k for the query in scratch.query.
  void search_one(size_t k, size_t nprobe, const LabelFilter* filter, Scratch& scratch,
                  std::vector<Neighbor>& out) const;
  // kSq8: scans codes for the best refine_factor * k candidates, then re-scores them exactly.
  void search_one_sq8(size_t k, size_t nprobe, const LabelFilter* filter, Scratch& scratch,
                      std::vector<Neighbor>& out) const;

  uint32_t dim_;
  Metric metric_;
  IvfFlatParams params_;
  KernelSet kernels_;
  QuantizedKernelSet quantized_kernels_;
  ScalarQuantizer quantizer_;  // Trained with the coarse quantiser under kSq8.
  uint32_t nlist_ = 0;
  std::vector<float> centroids_;
  std::vector<List> lists_;
  absl::flat_hash_map<uint64_t, Location> where_;  // Label -> (list, row).
};

}  // namespace meridian::index
