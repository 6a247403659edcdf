// Approximate k-nearest-neighbour index: a Hierarchical Navigable Small World graph (Malkov &
// Yashunin, 2016) over float32 or SQ8-quantised vectors, with masked deletes, filters applied
// during traversal, a multi-threaded batch build and a versioned, validated byte encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "index/distance.h"
#include "index/flat_index.h"
#include "index/metric.h"
#include "index/quantized_distance.h"
#include "index/scalar_quantizer.h"
#include "index/top_k.h"
#include "index/vector_check.h"

namespace meridian::index {

namespace internal {
struct HnswCandidate;
struct HnswNodeSync;
struct HnswScratch;
}  // namespace internal

// Graph parameters. Defaults suit 50-1000 dimensional embeddings at recall@10 >= 0.95.
struct HnswParams {
  // Links per node on levels >= 1 (level 0 keeps up to 2 * m). Range [2, 128]. Memory per node
  // grows by 8 * m bytes; larger m raises recall at a given ef and slows build and search.
  uint32_t m = 16;
  // Beam width while inserting (SEARCH-LAYER's ef during INSERT). Range [1, 4096]; values below m
  // act as m. Build time grows about linearly with it.
  uint32_t ef_construction = 200;
  // Default beam width of a search when the call passes ef = 0. Range [1, 4096]; a search always
  // uses at least k.
  uint32_t ef_search = 64;
  // Seed of the level generator: equal seeds and equal single-threaded insertion sequences give
  // identical graphs.
  uint64_t seed = 42;
  // What the graph records hold for traversal. kSq8: one uint8 code per dimension (the record's
  // vector part shrinks 4x); the float32 vectors go to a separate re-rank store, from which the
  // graph is built (so it equals the kNone graph) and each search's best candidates are
  // re-scored.
  Quantization quantization = Quantization::kNone;
  // Under kSq8, a search re-scores its best min(beam, refine_factor * k) candidates (by code
  // distance) with the float32 vectors and returns those exact scores. Range [1, 1024]; larger
  // values cost one random float32 vector read per extra candidate. Ignored under kNone.
  uint32_t refine_factor = 2;

  // InvalidArgument naming the first parameter out of range.
  absl::Status validate() const;
};

// Decides which labels a search may return. Consulted during traversal: rejected nodes are still
// expanded (so the graph stays connected) but never enter the result list. Implementations must
// be safe to call from the searching thread; one filter object may serve concurrent searches only
// if its accepts() is thread-safe.
class LabelFilter {
 public:
  virtual ~LabelFilter() = default;
  virtual bool accepts(uint64_t label) const = 0;
};

// HNSW index over `dim`-dimensional vectors under `metric`, with the same score conventions as
// FlatIndex: kL2 squared Euclidean distance (lower is better), kInnerProduct dot product and
// kCosine cosine similarity (higher is better); results best first, equal scores in label order.
// Under kCosine stored vectors and queries are normalised to unit length and compared by inner
// product.
//
// Under Quantization::kSq8 the scalar quantiser is trained once, by train() or on the first
// add_batch(); components of later vectors outside its per-dimension ranges saturate (they stay
// exact in the re-rank store, so only traversal accuracy suffers).
//
// Deletes are masked: a removed node stays in the graph as a routing node, is walked through by
// searches and inserts, and is never returned. rebuild_without_deleted() makes a fresh graph from
// the live points. Replacing a label (add with a label already present) masks the old node and
// inserts a new one, so deleted_count() grows by one.
//
// Thread safety: const methods (search, save, memory_bytes, ...) may run concurrently with each
// other. add, add_batch and remove mutate the graph and must not overlap with any other call on
// the same index (callers serialise them, e.g. with a reader-writer lock: searches shared,
// mutations exclusive). add_batch uses its own worker threads internally.
class HnswIndex {
 public:
  using Neighbor = index::Neighbor;

  // Largest dimension accepted by create() and load().
  static constexpr uint32_t kMaxDim = 65536;
  // Highest level a node can be drawn at; levels are capped here.
  static constexpr uint32_t kMaxLevel = 15;

  // Preconditions: 1 <= dim <= kMaxDim and params.validate().ok(); use create() for untrusted
  // configurations.
  HnswIndex(uint32_t dim, Metric metric, HnswParams params = {});
  ~HnswIndex();
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  // Validating constructor: InvalidArgument for dim outside [1, kMaxDim] or bad params.
  static absl::StatusOr<std::unique_ptr<HnswIndex>> create(uint32_t dim, Metric metric,
                                                           HnswParams params = {});

  // Under kSq8, trains the scalar quantiser on the n = vectors.size() / dim() row-major
  // `vectors` (normalised first under kCosine; they are not added). A no-op under kNone.
  // FailedPrecondition: already trained. InvalidArgument: n == 0, a buffer that is not a
  // multiple of dim(), or a bad vector (see check_vector).
  absl::Status train(std::span<const float> vectors);
  // False only under kSq8 before train() or the first non-empty add_batch().
  bool is_trained() const { return !quantized() || quantizer_.is_trained(); }
  // The trained SQ8 quantiser (untrained under kNone).
  const ScalarQuantizer& quantizer() const { return quantizer_; }

  // Inserts `vector` under `label` (INSERT of the paper). An existing node with the same label is
  // masked as deleted first (see class comment).
  // InvalidArgument: vector.size() != dim(), a non-finite component, or norm > kMaxVectorNorm.
  // FailedPrecondition: kSq8 and not trained. ResourceExhausted: the graph already holds
  // 2^32 - 2 nodes (live and deleted).
  absl::Status add(uint64_t label, std::span<const float> vector);

  // Inserts labels.size() row-major vectors (vectors.size() == labels.size() * dim()) using
  // `threads` worker threads (0 acts as 1), then runs repair_reachability(). All-or-nothing: every
  // vector is validated before any is inserted. Levels are drawn in input order, so they are
  // deterministic; with threads == 1 the graph equals that of calling add() in order followed by
  // one repair_reachability() (which changes nothing when every node is reachable). With
  // threads > 1 the neighbour lists depend on thread scheduling (recall is statistically the same,
  // the exact graph is not reproducible). Later duplicates of a label within the batch replace
  // earlier ones. Under kSq8 an untrained index first trains its quantiser on the batch, so the
  // first batch should be representative.
  absl::Status add_batch(std::span<const uint64_t> labels, std::span<const float> vectors,
                         size_t threads = 1);

  // Links every live node that unreachable_count() counts back into the level-0 graph: searches
  // for its neighbours from the entry point and links them to it (pruning full lists as an insert
  // does, and forcing one link when pruning drops it again), then repeats for any node that this
  // relinking cut off, for at most 4 rounds. Returns how many nodes it linked; unreachable_count()
  // is then 0 unless a pathological graph outlasts the rounds. add_batch() runs it; add() does not
  // (a walk of the whole graph per point would make single adds O(n)), so call it after a series
  // of add()s. Per round O(nodes + links) plus one insert-like search per unreachable node.
  size_t repair_reachability();

  // Masks the node stored under `label`; false when no live node has that label.
  bool remove(uint64_t label);

  bool contains(uint64_t label) const { return node_of_label_.contains(label); }
  // The stored vector of a live label (normalised under kCosine), or an empty span. Valid until
  // the next mutation.
  std::span<const float> vector_of_label(uint64_t label) const {
    auto it = node_of_label_.find(label);
    if (it == node_of_label_.end()) return {};
    return std::span<const float>(vector_of(it->second), dim_);
  }
  // Live (searchable) points.
  size_t size() const { return node_of_label_.size(); }
  // Masked nodes still in the graph.
  size_t deleted_count() const { return node_count_ - node_of_label_.size(); }
  // Graph nodes, live and deleted.
  size_t node_count() const { return node_count_; }
  uint32_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  const HnswParams& params() const { return params_; }
  // Heap bytes held by the graph, vectors (codes and re-rank store under kSq8), labels and the
  // label map (capacities), plus the pooled per-thread search scratch.
  size_t memory_bytes() const;
  // The part of memory_bytes() held by the float32 re-rank store: 0 under kNone. Searches touch
  // it only to re-score their final candidates, so it may live in slower memory.
  size_t rerank_store_bytes() const;

  // For each of the nq = queries.size() / dim() row-major queries, up to k live points accepted
  // by `filter` (all when null), best first (K-NN-SEARCH of the paper). The beam width is
  // max(k, ef != 0 ? ef : params().ef_search); under kSq8 the beam is walked on codes and its best
  // refine_factor * k candidates are re-scored exactly. Fewer than k results come back when fewer
  // points pass the filter or the beam finds fewer. The search stops only once ef accepted nodes
  // are kept, so with a very selective filter (say under 2% of the points) it walks most of the
  // graph: recall stays high but the cost approaches a full scan, and callers should then scan
  // the matching points exactly instead.
  // InvalidArgument: k == 0, queries.size() not a multiple of dim(), ef > 4096, a non-finite
  // query component or a query norm above kMaxVectorNorm.
  absl::StatusOr<std::vector<std::vector<Neighbor>>> search(
      std::span<const float> queries, size_t k, size_t ef = 0,
      const LabelFilter* filter = nullptr) const;

  // Live nodes that a breadth-first walk of the level-0 graph from the entry point does not
  // reach (through live and deleted nodes alike). A search can only ever return reachable nodes,
  // so a sound build leaves this at 0; a diagnostic for tests and tools, O(nodes + links).
  size_t unreachable_count() const;

  // A fresh index with the same dim, metric and params holding only the live points (inserted in
  // node order with `threads` workers): repairs the graph after many deletes.
  absl::StatusOr<std::unique_ptr<HnswIndex>> rebuild_without_deleted(size_t threads = 1) const;

  // Appends the versioned encoding of the whole index (parameters, graph, vectors, labels,
  // deletion marks, and under kSq8 the quantiser and re-rank store) to `*out`. Format in
  // hnsw_index_io.cc and docs/formats.md. Never fails today; returns Status so
  // that future encodings may.
  absl::Status save(std::string* out) const;

  // Decodes bytes written by save(). DataLoss for anything malformed (bad magic, unknown version,
  // truncation, checksum mismatch, out-of-range ids, levels or parameters, inconsistent sizes);
  // never crashes on untrusted input.
  static absl::StatusOr<std::unique_ptr<HnswIndex>> load(std::string_view bytes);

 private:
  static constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kMaxNodes = kNoNode - 1;

  // One candidate of a search: internal distance (lower is better) and node id.
  using Candidate = internal::HnswCandidate;

  // Level of the `draw`-th node ever appended: a pure function of (params_.seed, draw).
  uint32_t level_for(uint64_t draw) const;
  // Appends a node (vector copied, normalised under kCosine) at `level` with no links; masks any
  // live node with the same label. Requires node_count_ < capacity_.
  uint32_t append_node(uint64_t label, std::span<const float> vector, uint32_t level);
  void reserve_nodes(size_t nodes);
  // INSERT: links node `node` into the graph. `sync` (per-node locks and completion flags) is null
  // unless other threads insert too.
  void insert_node(uint32_t node, internal::HnswNodeSync* sync, internal::HnswScratch& scratch);
  // add_batch without the repair: add() inserts through it.
  absl::Status insert_batch(std::span<const uint64_t> labels, std::span<const float> vectors,
                            size_t threads);
  // Breadth-first walk of the level-0 graph from `start` that sets seen[node] for every node it
  // reaches, not entering nodes already seen. `queue` is working memory.
  void mark_reachable(uint32_t start, std::vector<uint8_t>& seen,
                      std::vector<uint32_t>& queue) const;
  // Makes the unreachable live `node` reachable (see repair_reachability).
  void link_unreachable(uint32_t node, internal::HnswScratch& scratch);
  // Greedy walk at `level` (SEARCH-LAYER with ef = 1) from `*best` towards the query that
  // `score` (node -> distance, lower is better) measures. With `sync`, every list but that of
  // `self` (the node being inserted) is read once its node is complete, under its node's lock.
  template <typename Score>
  void greedy_closest(const Score& score, int level, Candidate* best, uint32_t self,
                      internal::HnswNodeSync* sync) const;
  // SEARCH-LAYER during INSERT: the ef closest nodes (deleted included) to `query` at `level`,
  // left in scratch.results as a max-heap. `self` and `sync` as for greedy_closest.
  void search_layer(const float* query, Candidate entry, int level, size_t ef, uint32_t self,
                    internal::HnswNodeSync* sync, internal::HnswScratch& scratch) const;
  // SEARCH-LAYER at level 0 for queries: the ef best accepted nodes by `score` in
  // scratch.results.
  template <bool kMasked, typename Score>
  void search_base_layer(const Score& score, Candidate entry, size_t ef, const LabelFilter* filter,
                         internal::HnswScratch& scratch) const;
  // Greedy descent from the entry point, then the base layer: leaves the beam in scratch.results.
  template <typename Score>
  void walk(const Score& score, size_t ef, const LabelFilter* filter,
            internal::HnswScratch& scratch) const;
  // Under kSq8: re-scores the best refine_factor * k of scratch.results against the float32
  // `query` and leaves the best k in `out`.
  void rerank(const float* query, size_t k, internal::HnswScratch& scratch,
              std::vector<Neighbor>& out) const;
  // SELECT-NEIGHBORS-HEURISTIC (Algorithm 4) over `candidates` sorted by ascending distance;
  // keeps at most `max_links` in `selected`.
  void select_neighbors_heuristic(std::span<const Candidate> candidates, size_t max_links,
                                  std::vector<Candidate>& selected) const;
  // Adds the link neighbour -> node at `level`, shrinking the neighbour's list with the
  // heuristic when full.
  void connect_back(uint32_t neighbour, uint32_t node, int level, internal::HnswNodeSync* sync,
                    internal::HnswScratch& scratch);
  void search_one(const float* query, size_t k, size_t ef, const LabelFilter* filter,
                  internal::HnswScratch& scratch, std::vector<Neighbor>& out) const;

  std::unique_ptr<internal::HnswScratch> acquire_scratch() const;
  void release_scratch(std::unique_ptr<internal::HnswScratch> scratch) const;

  float distance(const float* a, const float* b) const {
    return metric_ == Metric::kL2 ? kernels_.l2_sqr(a, b, dim_)
                                  : -kernels_.inner_product(a, b, dim_);
  }
  float score_of(float distance) const { return metric_ == Metric::kL2 ? distance : -distance; }

  bool quantized() const { return params_.quantization == Quantization::kSq8; }
  // Level-0 record of a node: [u32 link count][u32 links x max_links0_][vector part], the vector
  // part being dim_ f32 (kNone) or dim_ SQ8 codes padded to a multiple of 4 bytes (kSq8).
  char* record(uint32_t node) const { return level0_.get() + size_t{node} * record_bytes_; }
  // The float32 vector of a node: in its record (kNone) or in the re-rank store (kSq8).
  const float* vector_of(uint32_t node) const {
    return reinterpret_cast<const float*>(float_base_ + size_t{node} * float_stride_);
  }
  const uint8_t* code_of(uint32_t node) const {
    return reinterpret_cast<const uint8_t*>(record(node) + vector_offset_);
  }
  // Link list of `node` at `level`: element 0 is the count, the ids follow.
  uint32_t* links(uint32_t node, int level) const;

  // Configuration and the record layout, fixed at construction.
  uint32_t dim_;
  Metric metric_;
  HnswParams params_;
  KernelSet kernels_;
  size_t max_links0_;     // 2 * m: capacity of a level-0 list.
  size_t max_links_;      // m: capacity of an upper-level list.
  size_t record_bytes_;   // Bytes of one level-0 record.
  size_t vector_offset_;  // Offset of the vector part inside a record.
  size_t vector_bytes_;   // Bytes of the vector part (what a traversal step reads).
  double level_mult_;     // mL = 1 / ln(m).
  QuantizedKernelSet quantized_kernels_;
  ScalarQuantizer quantizer_;  // Trained once under kSq8.

  // Graph storage; node ids are dense in [0, node_count_).
  struct FreeDeleter {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, FreeDeleter> level0_;  // capacity_ records.
  std::unique_ptr<char, FreeDeleter> full_;    // kSq8 re-rank store: capacity_ x dim_ f32.
  // vector_of(node) = float_base_ + node * float_stride_; re-pointed whenever storage moves.
  const char* float_base_ = nullptr;
  size_t float_stride_ = 0;
  size_t capacity_ = 0;
  size_t node_count_ = 0;
  std::vector<uint64_t> labels_;        // Node -> label.
  std::vector<uint8_t> levels_;         // Node -> top level.
  std::vector<uint8_t> deleted_;        // Node -> 1 when masked.
  std::vector<uint32_t> upper_offset_;  // Node -> first word in upper_links_ (levels >= 1).
  std::vector<uint32_t> upper_links_;   // Per level l >= 1 of a node: [count][m ids].
  absl::flat_hash_map<uint64_t, uint32_t> node_of_label_;  // Live label -> node.
  uint32_t entry_ = kNoNode;                               // Entry point: a node on the top level.
  int max_level_ = -1;
  std::mutex entry_mutex_;  // Guards entry_/max_level_ during a concurrent add_batch.

  // Reusable search scratch (visited stamps, heaps), one per concurrent search.
  // A std::mutex (pthread) rather than absl::Mutex: Debian's Abseil is not built with TSan, so
  // TSan cannot see absl::Mutex's ordering and reports false races.
  mutable std::mutex scratch_mutex_;
  mutable std::vector<std::unique_ptr<internal::HnswScratch>> scratch_pool_;  // by scratch_mutex_
};

}  // namespace meridian::index
