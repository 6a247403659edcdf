// Approximate k-nearest-neighbour index for large collections: inverted file with product-
// quantised residuals (IVF-PQ, Jegou et al. 2011; faiss IndexIVFPQ). A k-means coarse quantiser
// splits the space into nlist lists; each vector is stored as the m-byte PQ code of its residual
// from its list's centroid. A search scans the nprobe best lists with per-list lookup tables (ADC)
// and may re-rank its best candidates with full-precision vectors (faiss IndexRefineFlat).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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
#include "index/product_quantizer.h"
#include "index/top_k.h"
#include "index/vector_check.h"

namespace meridian::index {

struct IvfPqParams {
  // Number of lists. 0 = chosen at training time as round(4 * sqrt(n)) clamped to [1, min(n,
  // 65536)], n being the number of training vectors. Explicit range [1, 65536].
  uint32_t nlist = 0;
  // Lists scanned by a search that passes nprobe = 0. Range [1, 65536]; a value above nlist acts
  // as nlist. Recall grows and speed drops with nprobe.
  uint32_t nprobe = 16;
  // Sub-quantisers, i.e. code bytes per vector (the raw vector takes 4 * dim). 0 = automatic:
  // max(1, dim / 4), a 16x reduction. Range [0, min(dim, 4096)]. Fewer bytes save memory and scan
  // time and lose accuracy; each byte costs a 1 KiB lookup table per probed list.
  uint32_t m = 0;
  // Full-precision refinement: 0 keeps only the codes (scores are ADC estimates). A value r > 0
  // also keeps every float32 vector in a re-rank store (4 * dim bytes each) and by default
  // re-scores each search's best r * k candidates exactly. Range [0, 1024].
  uint32_t refine_factor = 0;
  // Most vectors the coarse k-means trains on (sub-sampled deterministically); 0 = 256 * nlist.
  size_t train_sample = 0;
  // Most residuals each sub-quantiser's k-means trains on (evenly spaced rows of the training
  // vectors); 0 = 16384 (64 per centroid). Values below 256 act as 256.
  size_t pq_train_sample = 0;
  // Lloyd iterations of the coarse and of each sub-quantiser's k-means. Range [1, 1000].
  uint32_t kmeans_iterations = 20;
  // Seed of every k-means: equal data and params give equal indexes.
  uint64_t seed = 42;

  // InvalidArgument naming the first parameter out of range (m against dim is checked by
  // IvfPqIndex::create).
  absl::Status validate() const;
};

// IVF-PQ index over `dim`-dimensional vectors with FlatIndex's score conventions: kL2 squared
// Euclidean distance (lower is better), kInnerProduct dot product and kCosine cosine similarity
// (higher is better; stored vectors and queries are normalised). Results best first, equal scores
// in label order. Unrefined scores are estimates: under kL2 the squared distance to the decoded
// vector, else the inner product with it.
//
// The coarse quantiser (Euclidean k-means under kL2, spherical under kCosine / kInnerProduct, as
// IvfFlatIndex) and the product quantiser (Euclidean k-means per sub-space on residuals) are
// trained once (train(), or the first add_batch()) and never retrained. A residual is taken from
// its list's base: the centroid under kL2; under the spherical metrics, whose centroids are unit
// directions, the mean of the list's training vectors (so residuals stay small whatever the
// vectors' norms).
//
// Deletes are immediate: remove() takes the vector out of its list (the list's last entry moves
// into its slot), so removed labels are never scanned, let alone returned.
//
// Thread safety: const methods (search, save, memory_bytes, ...) may run concurrently with each
// other; search keeps all scratch on its own stack. train, add, add_batch and remove must not
// overlap with any other call on the same index.
class IvfPqIndex {
 public:
  using Neighbor = index::Neighbor;

  // Largest dimension accepted by create() and load().
  static constexpr uint32_t kMaxDim = 65536;

  // Preconditions: 1 <= dim <= kMaxDim, params.validate().ok() and params.m <= dim; use create()
  // for untrusted configurations.
  IvfPqIndex(uint32_t dim, Metric metric, IvfPqParams params = {});

  // Validating constructor: InvalidArgument for dim outside [1, kMaxDim], m > dim or bad params.
  static absl::StatusOr<IvfPqIndex> create(uint32_t dim, Metric metric, IvfPqParams params = {});

  // Trains the coarse quantiser and the product quantiser on the n = vectors.size() / dim()
  // row-major `vectors` (not added). FailedPrecondition: already trained. InvalidArgument: n == 0,
  // a buffer that is not a multiple of dim(), a bad vector (see check_vector), or an explicit
  // nlist above n.
  absl::Status train(std::span<const float> vectors);

  // Stores `vector` under `label`, replacing any vector already stored under it.
  // FailedPrecondition: not trained. InvalidArgument: see check_vector. ResourceExhausted: the
  // list already holds 2^32 - 1 vectors.
  absl::Status add(uint64_t label, std::span<const float> vector);

  // Adds labels.size() row-major vectors (vectors.size() == labels.size() * dim()), training
  // first when untrained. All-or-nothing validation; later duplicates of a label replace earlier
  // ones.
  absl::Status add_batch(std::span<const uint64_t> labels, std::span<const float> vectors);

  // Removes the vector stored under `label`; false when there was none.
  bool remove(uint64_t label);

  // For each of the nq = queries.size() / dim() row-major queries, the min(k, accepted) best
  // stored vectors among the lists of the `nprobe` best centroids (0 = params().nprobe; clamped to
  // nlist()), restricted to labels `filter` accepts (all when null; consulted while scanning).
  // `refine_factor`: nullopt = params().refine_factor; 0 = ADC scores, no refinement; r > 0 =
  // re-score the best r * k ADC candidates with the float32 vectors and return exact scores.
  // An untrained or empty index returns empty lists.
  // InvalidArgument: k == 0, queries.size() not a multiple of dim(), a bad query (see
  // check_vector), refine_factor > 1024, or refine_factor > 0 when params().refine_factor == 0
  // (no float32 vectors are kept).
  absl::StatusOr<std::vector<std::vector<Neighbor>>> search(
      std::span<const float> queries, size_t k, size_t nprobe = 0,
      const LabelFilter* filter = nullptr,
      std::optional<uint32_t> refine_factor = std::nullopt) const;

  bool is_trained() const { return nlist_ != 0; }
  uint32_t nlist() const { return nlist_; }
  std::span<const float> centroids() const { return centroids_; }
  const ProductQuantizer& product_quantizer() const { return pq_; }
  // Code bytes per stored vector (the sub-quantiser count m).
  uint32_t code_bytes() const { return m_; }
  size_t list_size(uint32_t list) const { return lists_[list].labels.size(); }
  bool contains(uint64_t label) const { return where_.contains(label); }
  size_t size() const { return where_.size(); }
  uint32_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  const IvfPqParams& params() const { return params_; }
  // Heap bytes held by centroids, codebooks, lists (codes, labels, re-rank store) and the label
  // map (capacities, not sizes).
  size_t memory_bytes() const;
  // The part of memory_bytes() held by the float32 re-rank store: 0 when refine_factor == 0.
  size_t rerank_store_bytes() const;

  // Appends the versioned encoding of the whole index to `*out`. Format in ivf_pq_index_io.cc
  // and docs/formats.md. Never fails today.
  absl::Status save(std::string* out) const;
  // Decodes bytes written by save(). DataLoss for anything malformed (bad magic, unknown version,
  // truncation, checksum mismatch, bad parameters, inconsistent sizes, non-finite values,
  // duplicate labels); never crashes on untrusted input.
  static absl::StatusOr<IvfPqIndex> load(std::string_view bytes);

 private:
  struct List {
    std::vector<uint8_t> codes;  // Row-major m-byte PQ codes of the residuals.
    std::vector<uint64_t> labels;
    std::vector<float> full;  // refine_factor > 0: row-major float32 vectors (unit under cosine).
  };
  struct Location {
    uint32_t list;
    uint32_t row;
  };
  struct Scratch {
    std::vector<float> query;     // Normalised under kCosine.
    std::vector<float> residual;  // kL2: query minus the probed list's centroid.
    std::vector<float> tables;    // m * 256 ADC entries.
    std::vector<float> scores;    // Coarse scores, nlist.
    std::vector<Neighbor> probes;
    std::vector<Neighbor> candidates;
  };

  bool keeps_full() const { return params_.refine_factor > 0; }
  // The point residuals of `list` are taken from.
  const float* base_of(size_t list) const {
    return (metric_ == Metric::kL2 ? centroids_ : bases_).data() + list * dim_;
  }
  absl::Status train_unchecked(std::span<const float> vectors);
  // Stores a validated vector (normalised under kCosine) in `list`; `residual` is scratch.
  absl::Status store(uint64_t label, const float* vector, uint32_t list,
                     std::vector<float>& residual);
  void search_one(size_t k, size_t nprobe, const LabelFilter* filter, uint32_t refine,
                  Scratch& scratch, std::vector<Neighbor>& out) const;

  uint32_t dim_;
  Metric metric_;
  IvfPqParams params_;
  uint32_t m_;  // params_.m, or its automatic value.
  KernelSet kernels_;
  uint32_t nlist_ = 0;
  std::vector<float> centroids_;
  std::vector<float> bases_;  // Not kL2: per-list residual bases, nlist * dim (see class comment).
  ProductQuantizer pq_;
  std::vector<List> lists_;
  absl::flat_hash_map<uint64_t, Location> where_;  // Label -> (list, row).
};

}  // namespace meridian::index
