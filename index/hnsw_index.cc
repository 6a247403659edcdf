// HNSW graph construction (INSERT, SELECT-NEIGHBORS-HEURISTIC), masked deletes, filtered
// K-NN-SEARCH and rebuild. Serialization lives in hnsw_index_io.cc.
#include "index/hnsw_index.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "index/internal/hnsw_scratch.h"

namespace meridian::index {
namespace {

using internal::ClosestFirst;
using internal::FarthestFirst;
using internal::HnswScratch;

constexpr uint32_t kMaxM = 128;
constexpr uint32_t kMaxEf = 4096;
constexpr uint32_t kMaxRefineFactor = 1024;
constexpr size_t kCacheLine = 64;

// Prefetches the first `bytes` (at most 4 cache lines) of `p`: enough for the hardware
// prefetcher to stream the rest of a vector.
inline void prefetch_bytes(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  const size_t lines = std::min<size_t>(4, (bytes + kCacheLine - 1) / kCacheLine);
  for (size_t i = 0; i < lines; ++i) __builtin_prefetch(c + i * kCacheLine, 0, 3);
}

// Holds `mutex` when it is non-null; a single-threaded build passes null and pays nothing.
class MaybeLock {
 public:
  explicit MaybeLock(std::mutex* mutex) : mutex_(mutex) {
    if (mutex_ != nullptr) mutex_->lock();
  }
  ~MaybeLock() {
    if (mutex_ != nullptr) mutex_->unlock();
  }
  MaybeLock(const MaybeLock&) = delete;
  MaybeLock& operator=(const MaybeLock&) = delete;

 private:
  std::mutex* mutex_;
};

}  // namespace

namespace internal {

// Per-node state of a concurrent build: the lock of the node's link lists, and whether its
// insertion is complete (its lists final).
struct HnswNodeSync {
  std::mutex mutex;
  std::atomic<uint32_t> inserted{0};
};

}  // namespace internal

namespace {

using internal::HnswNodeSync;

std::mutex* lock_of(HnswNodeSync* sync, uint32_t node) {
  return sync == nullptr ? nullptr : &sync[node].mutex;
}

// Waits until the insertion of `node` is complete; returns at once for the inserting node
// itself (`self`) and in a single-threaded build (null `sync`). See insert_node.
void wait_inserted(HnswNodeSync* sync, uint32_t node, uint32_t self) {
  if (sync == nullptr || node == self) return;
  std::atomic<uint32_t>& inserted = sync[node].inserted;
  while (inserted.load(std::memory_order_acquire) == 0) {
    inserted.wait(0, std::memory_order_acquire);
  }
}

void mark_inserted(HnswNodeSync* sync, uint32_t node) {
  if (sync == nullptr) return;
  sync[node].inserted.store(1, std::memory_order_release);
  sync[node].inserted.notify_all();
}

// SplitMix64: a counter-based generator, so the level of the i-th draw depends only on
// (seed, i) and a loaded index continues the same sequence.
uint64_t split_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

absl::Status HnswParams::validate() const {
  if (m < 2 || m > kMaxM) {
    return absl::InvalidArgumentError(absl::StrCat("hnsw m=", m, " outside [2, ", kMaxM, "]"));
  }
  if (ef_construction < 1 || ef_construction > kMaxEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("hnsw ef_construction=", ef_construction, " outside [1, ", kMaxEf, "]"));
  }
  if (ef_search < 1 || ef_search > kMaxEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("hnsw ef_search=", ef_search, " outside [1, ", kMaxEf, "]"));
  }
  if (quantization != Quantization::kNone && quantization != Quantization::kSq8) {
    return absl::InvalidArgumentError("hnsw quantization is not none or sq8");
  }
  if (refine_factor < 1 || refine_factor > kMaxRefineFactor) {
    return absl::InvalidArgumentError(
        absl::StrCat("hnsw refine_factor=", refine_factor, " outside [1, ", kMaxRefineFactor, "]"));
  }
  return absl::OkStatus();
}

void HnswIndex::FreeDeleter::operator()(char* p) const { std::free(p); }

HnswIndex::HnswIndex(uint32_t dim, Metric metric, HnswParams params)
    : dim_(dim),
      metric_(metric),
      params_(params),
      kernels_(best_kernels()),
      max_links0_(2 * size_t{params.m}),
      max_links_(params.m),
      vector_offset_(sizeof(uint32_t) * (1 + max_links0_)),
      // SQ8 codes are padded to 4 bytes so that the next record's link words stay aligned.
      vector_bytes_(params.quantization == Quantization::kSq8 ? (size_t{dim} + 3) / 4 * 4
                                                              : sizeof(float) * size_t{dim}),
      level_mult_(1.0 / std::log(static_cast<double>(params.m))),
      quantized_kernels_(best_quantized_kernels()) {
  record_bytes_ = vector_offset_ + vector_bytes_;
  assert(dim >= 1 && dim <= kMaxDim);
  assert(params.validate().ok());
}

HnswIndex::~HnswIndex() = default;

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::create(uint32_t dim, Metric metric,
                                                             HnswParams params) {
  if (dim < 1 || dim > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("dimension ", dim, " outside [1, ", kMaxDim, "]"));
  }
  if (absl::Status st = params.validate(); !st.ok()) return st;
  return std::make_unique<HnswIndex>(dim, metric, params);
}

uint32_t* HnswIndex::links(uint32_t node, int level) const {
  if (level == 0) return reinterpret_cast<uint32_t*>(record(node));
  // upper_links_ is only resized while no search or insert runs, so the cast away from const
  // exposes no data race; writers hold the node's lock during a concurrent build.
  return const_cast<uint32_t*>(upper_links_.data()) + upper_offset_[node] +
         size_t(level - 1) * (1 + max_links_);
}

uint32_t HnswIndex::level_for(uint64_t draw) const {
  // floor(-ln(U) * mL) with U uniform in (0, 1] from the top 53 bits of the draw (the paper's
  // exponentially decaying level distribution); capped so levels fit the encoding.
  const uint64_t bits = split_mix64(params_.seed ^ split_mix64(draw));
  const double u = static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
  const double level = std::floor(-std::log(u) * level_mult_);
  return static_cast<uint32_t>(std::min(level, static_cast<double>(kMaxLevel)));
}

void HnswIndex::reserve_nodes(size_t nodes) {
  if (nodes > capacity_) {
    const size_t new_capacity = std::max(nodes, capacity_ + capacity_ / 2 + 16);
    char* fresh = static_cast<char*>(std::malloc(new_capacity * record_bytes_));
    if (fresh == nullptr) std::abort();  // Out of memory: as std::vector would throw.
    if (node_count_ > 0) std::memcpy(fresh, level0_.get(), node_count_ * record_bytes_);
    level0_.reset(fresh);
    if (quantized()) {
      const size_t row_bytes = sizeof(float) * dim_;
      char* store = static_cast<char*>(std::malloc(new_capacity * row_bytes));
      if (store == nullptr) std::abort();
      if (node_count_ > 0) std::memcpy(store, full_.get(), node_count_ * row_bytes);
      full_.reset(store);
      float_base_ = store;
      float_stride_ = row_bytes;
    } else {
      float_base_ = fresh + vector_offset_;
      float_stride_ = record_bytes_;
    }
    capacity_ = new_capacity;
  }
  labels_.reserve(nodes);
  levels_.reserve(nodes);
  deleted_.reserve(nodes);
  upper_offset_.reserve(nodes);
}

uint32_t HnswIndex::append_node(uint64_t label, std::span<const float> vector, uint32_t level) {
  assert(node_count_ < capacity_);
  const auto node = static_cast<uint32_t>(node_count_++);
  char* rec = record(node);
  std::memset(rec, 0, record_bytes_);
  float* dst = const_cast<float*>(vector_of(node));
  std::copy(vector.begin(), vector.end(), dst);
  if (metric_ == Metric::kCosine) normalize_in_place(std::span<float>(dst, dim_));
  if (quantized()) quantizer_.encode(dst, reinterpret_cast<uint8_t*>(rec + vector_offset_));
  labels_.push_back(label);
  levels_.push_back(static_cast<uint8_t>(level));
  deleted_.push_back(0);
  upper_offset_.push_back(static_cast<uint32_t>(upper_links_.size()));
  upper_links_.resize(upper_links_.size() + level * (1 + max_links_), 0);
  auto [it, inserted] = node_of_label_.try_emplace(label, node);
  if (!inserted) {
    deleted_[it->second] = 1;
    it->second = node;
  }
  return node;
}

absl::Status HnswIndex::train(std::span<const float> vectors) {
  if (!quantized()) return absl::OkStatus();
  if (quantizer_.is_trained()) return absl::FailedPreconditionError("hnsw sq8 already trained");
  if (vectors.empty() || vectors.size() % dim_ != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("training buffer of ", vectors.size(), " floats for dimension ", dim_));
  }
  for (size_t i = 0; i < vectors.size() / dim_; ++i) {
    if (absl::Status st = check_vector(vectors.subspan(i * dim_, dim_), dim_); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("vector ", i, ": ", st.message()));
    }
  }
  absl::StatusOr<ScalarQuantizer> sq =
      ScalarQuantizer::train(vectors, dim_, metric_ == Metric::kCosine);
  if (!sq.ok()) return sq.status();
  quantizer_ = *std::move(sq);
  return absl::OkStatus();
}

absl::Status HnswIndex::add(uint64_t label, std::span<const float> vector) {
  if (!is_trained()) {
    return absl::FailedPreconditionError(
        "hnsw sq8 index is not trained: call train() or add_batch()");
  }
  return insert_batch(std::span<const uint64_t>(&label, 1), vector, 1);
}

absl::Status HnswIndex::add_batch(std::span<const uint64_t> labels, std::span<const float> vectors,
                                  size_t threads) {
  if (absl::Status st = insert_batch(labels, vectors, threads); !st.ok()) return st;
  // A batch is a build (a sealed segment, a rebuild): it leaves no node unreachable.
  repair_reachability();
  return absl::OkStatus();
}

absl::Status HnswIndex::insert_batch(std::span<const uint64_t> labels,
                                     std::span<const float> vectors, size_t threads) {
  if (vectors.size() != labels.size() * dim_) {
    return absl::InvalidArgumentError(absl::StrCat("batch of ", labels.size(), " labels has ",
                                                   vectors.size(), " floats, expected ",
                                                   labels.size() * dim_));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (absl::Status st = check_vector(vectors.subspan(i * dim_, dim_), dim_); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("vector ", i, ": ", st.message()));
    }
  }
  if (labels.size() > kMaxNodes - node_count_) {
    return absl::ResourceExhaustedError("hnsw index is full");
  }
  // Node i's level is the i-th draw of the seeded generator, so levels do not depend on how nodes
  // were batched. Drawn before anything changes: a batch that does not fit the 32-bit
  // upper-level offsets leaves the index untouched.
  std::vector<uint8_t> batch_levels(labels.size());
  uint64_t upper_words = upper_links_.size();
  for (size_t i = 0; i < labels.size(); ++i) {
    batch_levels[i] = static_cast<uint8_t>(level_for(node_count_ + i));
    upper_words += batch_levels[i] * (1 + max_links_);
  }
  if (upper_words > kNoNode) {
    return absl::ResourceExhaustedError("hnsw upper-level link storage is full");
  }
  if (!is_trained() && !labels.empty()) {
    absl::StatusOr<ScalarQuantizer> sq =
        ScalarQuantizer::train(vectors, dim_, metric_ == Metric::kCosine);
    if (!sq.ok()) return sq.status();
    quantizer_ = *std::move(sq);
  }
  const size_t first = node_count_;
  reserve_nodes(first + labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    append_node(labels[i], vectors.subspan(i * dim_, dim_), batch_levels[i]);
  }
  const size_t last = node_count_;
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(1, last - first));
  if (threads == 1) {
    auto scratch = acquire_scratch();
    for (size_t node = first; node < last; ++node) {
      insert_node(static_cast<uint32_t>(node), nullptr, *scratch);
    }
    release_scratch(std::move(scratch));
    return absl::OkStatus();
  }
  // Concurrent build: every node's vector, level and upper-level storage exist before the workers
  // start, so they only write link lists, each under its node's lock (as hnswlib does). Nodes of
  // earlier batches are complete.
  auto sync = std::make_unique<HnswNodeSync[]>(last);
  for (size_t node = 0; node < first; ++node) sync[node].inserted.store(1);
  std::atomic<size_t> next{first};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([this, &next, &sync, last] {
      HnswScratch scratch;
      for (size_t node; (node = next.fetch_add(1)) < last;) {
        insert_node(static_cast<uint32_t>(node), sync.get(), scratch);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return absl::OkStatus();
}

bool HnswIndex::remove(uint64_t label) {
  auto it = node_of_label_.find(label);
  if (it == node_of_label_.end()) return false;
  deleted_[it->second] = 1;
  node_of_label_.erase(it);
  return true;
}

void HnswIndex::insert_node(uint32_t node, HnswNodeSync* sync, HnswScratch& scratch) {
  const float* query = vector_of(node);
  const int level = levels_[node];
  // Another insert that reaches this node before its insertion is complete (through a link made
  // on a level above) waits until all its lists are final (wait_inserted before reading a list or
  // linking back), as it would wait on hnswlib's per-node lock, which addPoint holds for the
  // whole insertion. Without this, that insert could link to the node on a lower level where its
  // list is still empty, add itself there as the only back-link, and then lose that link when
  // this insert writes the node's own list for that level: it would end with no incoming link,
  // unreachable (0.05-0.5% of the nodes of a 4-thread build). No deadlock: an insert only waits
  // for a node that it reached through a level on which that node is already linked in, i.e. one
  // whose insertion has gone further down than its own. A flag rather than holding the node's
  // lock throughout: no lock is ever taken while another is held (but the entry lock), so the
  // lock order is acyclic and ThreadSanitizer's deadlock detector stays quiet.
  const auto complete = [&] { mark_inserted(sync, node); };
  // A node that raises the top level keeps the entry lock for its whole insertion, so that no
  // other insert starts from an entry point whose upper lists are still empty.
  std::unique_lock<std::mutex> entry_lock;
  if (sync != nullptr) entry_lock = std::unique_lock<std::mutex>(entry_mutex_);
  const uint32_t entry = entry_;
  const int top = max_level_;
  if (entry == kNoNode) {
    entry_ = node;
    max_level_ = level;
    complete();
    return;
  }
  if (level <= top && entry_lock.owns_lock()) entry_lock.unlock();

  // Phase 1: greedy descent through the levels above the node's own (always on float32 vectors,
  // so an SQ8 index builds the same graph as an unquantised one).
  const auto score = [this, query](uint32_t other) { return distance(query, vector_of(other)); };
  Candidate best{score(entry), entry};
  for (int l = top; l > level; --l) greedy_closest(score, l, &best, node, sync);

  // Phase 2: on each of the node's levels, find ef_construction neighbours, keep the heuristic's
  // choice as the node's links and link them back.
  const size_t ef = std::max(params_.ef_construction, params_.m);
  for (int l = std::min(level, top); l >= 0; --l) {
    search_layer(query, best, l, ef, node, sync, scratch);
    // The node itself is never among the results: nothing links to it on this level yet (its
    // own back-links come below), and no other insert links to it before it is complete.
    // Dropped anyway, so a self-link can never form.
    scratch.sorted.clear();
    for (const Candidate& c : scratch.results) {
      if (c.node != node) scratch.sorted.push_back(c);
    }
    if (scratch.sorted.empty()) continue;
    std::sort(scratch.sorted.begin(), scratch.sorted.end(),
              [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
    select_neighbors_heuristic(scratch.sorted, max_links_, scratch.selected);
    {
      MaybeLock guard(lock_of(sync, node));
      uint32_t* list = links(node, l);
      list[0] = static_cast<uint32_t>(scratch.selected.size());
      for (size_t i = 0; i < scratch.selected.size(); ++i) list[1 + i] = scratch.selected[i].node;
    }
    // connect_back reuses scratch.sorted/selected; keep the chosen ids apart.
    scratch.fresh.clear();
    for (const Candidate& c : scratch.selected) scratch.fresh.push_back(c.node);
    best = scratch.sorted.front();  // Entry point of the next level down: the closest found.
    for (size_t i = 0; i < scratch.fresh.size(); ++i) {
      connect_back(scratch.fresh[i], node, l, sync, scratch);
    }
  }
  complete();
  if (level > top) {
    entry_ = node;
    max_level_ = level;
  }
}

template <typename Score>
void HnswIndex::greedy_closest(const Score& score, int level, Candidate* best, uint32_t self,
                               HnswNodeSync* sync) const {
  for (bool improved = true; improved;) {
    improved = false;
    wait_inserted(sync, best->node, self);
    MaybeLock guard(lock_of(sync, best->node));
    const uint32_t* list = links(best->node, level);
    const uint32_t count = list[0];
    for (uint32_t i = 1; i <= count; ++i) {
      const uint32_t next = list[i];
      const float d = score(next);
      if (d < best->distance) {
        *best = {d, next};
        improved = true;
      }
    }
  }
}

void HnswIndex::search_layer(const float* query, Candidate entry, int level, size_t ef,
                             uint32_t self, HnswNodeSync* sync, HnswScratch& scratch) const {
  scratch.visited.begin(node_count_);
  scratch.visited.insert(entry.node);
  auto& candidates = scratch.candidates;
  auto& results = scratch.results;
  candidates.assign(1, entry);
  results.assign(1, entry);
  while (!candidates.empty()) {
    const Candidate current = candidates.front();
    if (current.distance > results.front().distance && results.size() >= ef) break;
    std::pop_heap(candidates.begin(), candidates.end(), ClosestFirst{});
    candidates.pop_back();
    scratch.fresh.clear();
    if (sync == nullptr) {
      const uint32_t* list = links(current.node, level);
      for (uint32_t i = 1; i <= list[0]; ++i) {
        if (scratch.visited.insert(list[i])) scratch.fresh.push_back(list[i]);
      }
    } else {
      // Copy the list under the lock so that distances are computed without holding it.
      {
        wait_inserted(sync, current.node, self);
        MaybeLock guard(lock_of(sync, current.node));
        const uint32_t* list = links(current.node, level);
        scratch.link_copy.assign(list + 1, list + 1 + list[0]);
      }
      for (uint32_t next : scratch.link_copy) {
        if (scratch.visited.insert(next)) scratch.fresh.push_back(next);
      }
    }
    const size_t n = scratch.fresh.size();
    for (size_t i = 0; i < std::min<size_t>(n, 2); ++i) {
      prefetch_bytes(vector_of(scratch.fresh[i]), dim_ * sizeof(float));
    }
    for (size_t i = 0; i < n; ++i) {
      if (i + 2 < n) prefetch_bytes(vector_of(scratch.fresh[i + 2]), dim_ * sizeof(float));
      const uint32_t next = scratch.fresh[i];
      const float d = distance(query, vector_of(next));
      if (results.size() < ef || d < results.front().distance) {
        candidates.push_back({d, next});
        std::push_heap(candidates.begin(), candidates.end(), ClosestFirst{});
        results.push_back({d, next});
        std::push_heap(results.begin(), results.end(), FarthestFirst{});
        if (results.size() > ef) {
          std::pop_heap(results.begin(), results.end(), FarthestFirst{});
          results.pop_back();
        }
      }
    }
  }
}

template <bool kMasked, typename Score>
void HnswIndex::search_base_layer(const Score& score, Candidate entry, size_t ef,
                                  const LabelFilter* filter, HnswScratch& scratch) const {
  const auto accepts = [&](uint32_t node) {
    return deleted_[node] == 0 && (filter == nullptr || filter->accepts(labels_[node]));
  };
  scratch.visited.begin(node_count_);
  scratch.visited.insert(entry.node);
  if (scratch.fresh.size() < max_links0_) scratch.fresh.resize(max_links0_);
  auto& candidates = scratch.candidates;
  auto& results = scratch.results;
  candidates.assign(1, entry);
  results.clear();
  if (!kMasked || accepts(entry.node)) results.push_back(entry);
  // Distance of the worst kept result once ef are kept; until then every new node qualifies.
  float bound = results.size() >= ef ? entry.distance : std::numeric_limits<float>::infinity();
  // Scored vector parts (float32 or codes) sit in the records, at vector_offset_.
  const auto part = [this](uint32_t node) { return record(node) + vector_offset_; };
  while (!candidates.empty()) {
    const Candidate current = candidates.front();
    if (current.distance > bound) break;
    std::pop_heap(candidates.begin(), candidates.end(), ClosestFirst{});
    candidates.pop_back();
    const uint32_t* list = links(current.node, 0);
    const uint32_t count = list[0];
    // Gather the unvisited neighbours first, then score them with the next vectors in flight.
    uint32_t* fresh = scratch.fresh.data();
    size_t n = 0;
    for (uint32_t i = 1; i <= count; ++i) {
      const uint32_t next = list[i];
      if (scratch.visited.insert(next)) fresh[n++] = next;
    }
    for (size_t i = 0; i < std::min<size_t>(n, 2); ++i) {
      prefetch_bytes(part(fresh[i]), vector_bytes_);
    }
    for (size_t i = 0; i < n; ++i) {
      if (i + 2 < n) prefetch_bytes(part(fresh[i + 2]), vector_bytes_);
      const uint32_t next = fresh[i];
      const float d = score(next);
      if (d >= bound) continue;
      candidates.push_back({d, next});
      std::push_heap(candidates.begin(), candidates.end(), ClosestFirst{});
      if (kMasked && !accepts(next)) continue;
      results.push_back({d, next});
      std::push_heap(results.begin(), results.end(), FarthestFirst{});
      if (results.size() > ef) {
        std::pop_heap(results.begin(), results.end(), FarthestFirst{});
        results.pop_back();
      }
      if (results.size() >= ef) bound = results.front().distance;
    }
    // The next node to expand: start loading its link list.
    if (!candidates.empty()) __builtin_prefetch(record(candidates.front().node), 0, 3);
  }
}

void HnswIndex::select_neighbors_heuristic(std::span<const Candidate> candidates, size_t max_links,
                                           std::vector<Candidate>& selected) const {
  selected.clear();
  // Keep a candidate only if it is closer to the base than to every neighbour kept so far:
  // this spreads links over directions instead of clustering them (Algorithm 4).
  for (const Candidate& c : candidates) {
    if (selected.size() >= max_links) break;
    const float* v = vector_of(c.node);
    bool diverse = true;
    for (const Candidate& s : selected) {
      if (distance(v, vector_of(s.node)) < c.distance) {
        diverse = false;
        break;
      }
    }
    if (diverse) selected.push_back(c);
  }
}

void HnswIndex::connect_back(uint32_t neighbour, uint32_t node, int level, HnswNodeSync* sync,
                             HnswScratch& scratch) {
  const size_t capacity = level == 0 ? max_links0_ : max_links_;
  if (neighbour == node) return;
  wait_inserted(sync, neighbour, node);
  MaybeLock guard(lock_of(sync, neighbour));
  uint32_t* list = links(neighbour, level);
  const uint32_t count = list[0];
  for (uint32_t i = 1; i <= count; ++i) {
    if (list[i] == node) return;
  }
  if (count < capacity) {
    list[1 + count] = node;
    list[0] = count + 1;
    return;
  }
  // Full: re-select the neighbour's links among its old ones and the new node (the paper's
  // "shrink connections", with the same heuristic).
  const float* base = vector_of(neighbour);
  scratch.sorted.clear();
  scratch.sorted.push_back({distance(base, vector_of(node)), node});
  for (uint32_t i = 1; i <= count; ++i) {
    scratch.sorted.push_back({distance(base, vector_of(list[i])), list[i]});
  }
  std::sort(scratch.sorted.begin(), scratch.sorted.end(),
            [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
  select_neighbors_heuristic(scratch.sorted, capacity, scratch.selected);
  list[0] = static_cast<uint32_t>(scratch.selected.size());
  for (size_t i = 0; i < scratch.selected.size(); ++i) list[1 + i] = scratch.selected[i].node;
}

std::unique_ptr<HnswScratch> HnswIndex::acquire_scratch() const {
  std::unique_ptr<HnswScratch> scratch;
  {
    std::lock_guard lock(scratch_mutex_);
    if (!scratch_pool_.empty()) {
      scratch = std::move(scratch_pool_.back());
      scratch_pool_.pop_back();
    }
  }
  if (scratch == nullptr) scratch = std::make_unique<HnswScratch>();
  return scratch;
}

void HnswIndex::release_scratch(std::unique_ptr<HnswScratch> scratch) const {
  std::lock_guard lock(scratch_mutex_);
  scratch_pool_.push_back(std::move(scratch));
}

template <typename Score>
void HnswIndex::walk(const Score& score, size_t ef, const LabelFilter* filter,
                     HnswScratch& scratch) const {
  Candidate best{score(entry_), entry_};
  for (int l = max_level_; l > 0; --l) greedy_closest(score, l, &best, kNoNode, nullptr);
  if (filter == nullptr && node_of_label_.size() == node_count_) {
    search_base_layer<false>(score, best, ef, nullptr, scratch);
  } else {
    search_base_layer<true>(score, best, ef, filter, scratch);
  }
}

void HnswIndex::rerank(const float* query, size_t k, HnswScratch& scratch,
                       std::vector<Neighbor>& out) const {
  auto& candidates = scratch.sorted;
  candidates.assign(scratch.results.begin(), scratch.results.end());
  const size_t count = std::min(candidates.size(), size_t{params_.refine_factor} * k);
  // Ties by node id, so that which candidates are re-scored does not depend on heap order.
  std::partial_sort(candidates.begin(), candidates.begin() + count, candidates.end(),
                    [](const Candidate& a, const Candidate& b) {
                      return a.distance < b.distance ||
                             (a.distance == b.distance && a.node < b.node);
                    });
  const size_t row_bytes = dim_ * sizeof(float);
  for (size_t i = 0; i < std::min<size_t>(count, 2); ++i) {
    prefetch_bytes(vector_of(candidates[i].node), row_bytes);
  }
  TopK& top = scratch.top;
  top.reset(k);
  for (size_t i = 0; i < count; ++i) {
    if (i + 2 < count) prefetch_bytes(vector_of(candidates[i + 2].node), row_bytes);
    const uint32_t node = candidates[i].node;
    top.push(labels_[node], score_of(distance(query, vector_of(node))));
  }
  top.take_sorted(out);
}

void HnswIndex::search_one(const float* query, size_t k, size_t ef, const LabelFilter* filter,
                           HnswScratch& scratch, std::vector<Neighbor>& out) const {
  out.clear();
  if (entry_ == kNoNode || node_of_label_.empty()) return;
  if (metric_ == Metric::kCosine) {
    scratch.query.assign(query, query + dim_);
    normalize_in_place(std::span<float>(scratch.query.data(), dim_));
    query = scratch.query.data();
  }
  if (quantized()) {
    // Walk on codes with the query prepared once, then re-score the best candidates exactly.
    scratch.prepared.resize(dim_);
    const float* prepared = scratch.prepared.data();
    const float* scale = quantizer_.scale().data();
    const QuantizedKernelSet& qk = quantized_kernels_;
    if (metric_ == Metric::kL2) {
      quantizer_.prepare_l2(query, scratch.prepared.data());
      walk([&](uint32_t node) { return qk.sq8_l2_sqr(prepared, scale, code_of(node), dim_); }, ef,
           filter, scratch);
    } else {
      const float bias = quantizer_.prepare_dot(query, scratch.prepared.data());
      walk([&](uint32_t node) { return -(bias + qk.sq8_dot(prepared, code_of(node), dim_)); }, ef,
           filter, scratch);
    }
    rerank(query, k, scratch, out);
    return;
  }
  walk([this, query](uint32_t node) { return distance(query, vector_of(node)); }, ef, filter,
       scratch);
  TopK& top = scratch.top;
  top.reset(k);
  for (const Candidate& c : scratch.results) top.push(labels_[c.node], score_of(c.distance));
  top.take_sorted(out);
}

absl::StatusOr<std::vector<std::vector<HnswIndex::Neighbor>>> HnswIndex::search(
    std::span<const float> queries, size_t k, size_t ef, const LabelFilter* filter) const {
  if (k == 0) return absl::InvalidArgumentError("k must be at least 1");
  if (ef > kMaxEf) {
    return absl::InvalidArgumentError(absl::StrCat("ef=", ef, " exceeds ", kMaxEf));
  }
  if (queries.size() % dim_ != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query buffer of ", queries.size(), " floats is not a multiple of dimension ", dim_));
  }
  const size_t nq = queries.size() / dim_;
  for (size_t i = 0; i < nq; ++i) {
    if (absl::Status st = check_vector(queries.subspan(i * dim_, dim_), dim_); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query ", i, ": ", st.message()));
    }
  }
  const size_t beam = std::max(k, ef != 0 ? ef : size_t{params_.ef_search});
  std::vector<std::vector<Neighbor>> out(nq);
  auto scratch = acquire_scratch();
  scratch->top = TopK(k, higher_is_better(metric_));
  for (size_t i = 0; i < nq; ++i) {
    search_one(queries.data() + i * dim_, k, beam, filter, *scratch, out[i]);
  }
  release_scratch(std::move(scratch));
  return out;
}

size_t HnswIndex::unreachable_count() const {
  if (entry_ == kNoNode) return 0;
  std::vector<uint8_t> seen(node_count_, 0);
  std::vector<uint32_t> queue;
  mark_reachable(entry_, seen, queue);
  size_t unreachable = 0;
  for (size_t node = 0; node < node_count_; ++node) {
    if (seen[node] == 0 && deleted_[node] == 0) ++unreachable;
  }
  return unreachable;
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::rebuild_without_deleted(
    size_t threads) const {
  auto fresh = std::make_unique<HnswIndex>(dim_, metric_, params_);
  fresh->quantizer_ = quantizer_;  // Keep the trained ranges: the live points may be few.
  std::vector<uint64_t> labels;
  std::vector<float> vectors;
  labels.reserve(size());
  vectors.reserve(size() * dim_);
  for (size_t node = 0; node < node_count_; ++node) {
    if (deleted_[node] != 0) continue;
    labels.push_back(labels_[node]);
    const float* v = vector_of(static_cast<uint32_t>(node));
    vectors.insert(vectors.end(), v, v + dim_);
  }
  if (absl::Status st = fresh->add_batch(labels, vectors, threads); !st.ok()) return st;
  return fresh;
}

size_t HnswIndex::memory_bytes() const {
  using Slot = std::pair<const uint64_t, uint32_t>;
  size_t bytes = capacity_ * record_bytes_ + rerank_store_bytes() + quantizer_.memory_bytes() +
                 labels_.capacity() * sizeof(uint64_t) + levels_.capacity() + deleted_.capacity() +
                 upper_offset_.capacity() * sizeof(uint32_t) +
                 upper_links_.capacity() * sizeof(uint32_t) +
                 node_of_label_.capacity() * (sizeof(Slot) + 1);
  std::lock_guard lock(scratch_mutex_);
  for (const auto& s : scratch_pool_) bytes += sizeof(HnswScratch) + s->memory_bytes();
  return bytes;
}

size_t HnswIndex::rerank_store_bytes() const {
  return quantized() ? capacity_ * dim_ * sizeof(float) : 0;
}

}  // namespace meridian::index
