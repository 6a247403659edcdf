// IvfFlatIndex: quantiser training, list storage (swap-with-last removal) and the per-list scans
// (float32, or SQ8 codes followed by exact re-scoring).
#include "index/ivf_flat_index.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "index/kmeans.h"

namespace meridian::index {
namespace {

constexpr uint32_t kMaxLists = 65536;
constexpr uint32_t kMaxRefineFactor = 1024;
// Rows scored per kernel call while scanning a list.
constexpr size_t kScanBlock = 256;

}  // namespace

absl::Status IvfFlatParams::validate() const {
  if (nlist > kMaxLists) {
    return absl::InvalidArgumentError(absl::StrCat("nlist ", nlist, " outside [0, 65536]"));
  }
  if (nprobe < 1 || nprobe > kMaxLists) {
    return absl::InvalidArgumentError(absl::StrCat("nprobe ", nprobe, " outside [1, 65536]"));
  }
  if (kmeans_iterations < 1 || kmeans_iterations > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("kmeans_iterations ", kmeans_iterations, " outside [1, 1000]"));
  }
  if (quantization != Quantization::kNone && quantization != Quantization::kSq8) {
    return absl::InvalidArgumentError("quantization is not none or sq8");
  }
  if (refine_factor < 1 || refine_factor > kMaxRefineFactor) {
    return absl::InvalidArgumentError(
        absl::StrCat("refine_factor ", refine_factor, " outside [1, ", kMaxRefineFactor, "]"));
  }
  return absl::OkStatus();
}

IvfFlatIndex::IvfFlatIndex(uint32_t dim, Metric metric, IvfFlatParams params)
    : dim_(dim),
      metric_(metric),
      params_(params),
      kernels_(best_kernels()),
      quantized_kernels_(best_quantized_kernels()) {
  assert(dim >= 1);
}

absl::StatusOr<IvfFlatIndex> IvfFlatIndex::create(uint32_t dim, Metric metric,
                                                  IvfFlatParams params) {
  if (dim == 0 || dim > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("dimension ", dim, " outside [1, ", kMaxDim, "]"));
  }
  if (absl::Status st = params.validate(); !st.ok()) return st;
  return IvfFlatIndex(dim, metric, params);
}

absl::Status IvfFlatIndex::train(std::span<const float> vectors) {
  if (is_trained()) return absl::FailedPreconditionError("IVF index is already trained");
  if (absl::Status st = check_vectors(vectors, dim_); !st.ok()) return st;
  return train_unchecked(vectors);
}

absl::Status IvfFlatIndex::train_unchecked(std::span<const float> vectors) {
  KMeansParams km;
  km.nlist = params_.nlist;
  km.iterations = params_.kmeans_iterations;
  km.sample = params_.train_sample;
  km.seed = params_.seed;
  absl::StatusOr<std::vector<float>> centroids =
      train_coarse_quantizer(vectors, dim_, km, metric_, kMaxLists);
  if (!centroids.ok()) return centroids.status();
  const uint32_t nlist = static_cast<uint32_t>(centroids->size() / dim_);
  if (quantized()) {
    absl::StatusOr<ScalarQuantizer> sq =
        ScalarQuantizer::train(vectors, dim_, metric_ == Metric::kCosine);
    if (!sq.ok()) return sq.status();
    quantizer_ = *std::move(sq);
  }
  centroids_ = *std::move(centroids);
  nlist_ = nlist;
  lists_.assign(nlist, List{});
  return absl::OkStatus();
}

uint32_t IvfFlatIndex::nearest_list(std::span<const float> vector) const {
  uint32_t list = 0;
  assign_nearest(vector, dim_, centroids_, metric_, std::span<uint32_t>(&list, 1));
  return list;
}

absl::Status IvfFlatIndex::add(uint64_t label, std::span<const float> vector) {
  if (!is_trained()) {
    return absl::FailedPreconditionError("IVF index is not trained: call train() or add_batch()");
  }
  if (absl::Status st = check_vector(vector, dim_); !st.ok()) return st;
  return store(label, vector, nearest_list(vector));
}

absl::Status IvfFlatIndex::add_batch(std::span<const uint64_t> labels,
                                     std::span<const float> vectors) {
  if (absl::Status st = check_vectors(vectors, dim_); !st.ok()) return st;
  if (vectors.size() / dim_ != labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(labels.size(), " labels for ", vectors.size() / dim_, " vectors"));
  }
  if (labels.empty()) return absl::OkStatus();
  if (!is_trained()) {
    if (absl::Status st = train_unchecked(vectors); !st.ok()) return st;
  }
  std::vector<uint32_t> assignment(labels.size());
  assign_nearest(vectors, dim_, centroids_, metric_, assignment);
  // Grow each list once, to its final size, rather than by doubling.
  std::vector<size_t> added(nlist_, 0);
  for (uint32_t list : assignment) ++added[list];
  for (uint32_t l = 0; l < nlist_; ++l) {
    if (added[l] == 0) continue;
    List& list = lists_[l];
    const size_t rows = list.labels.size() + added[l];
    list.labels.reserve(rows);
    list.data.reserve(rows * dim_);
    if (quantized()) list.codes.reserve(rows * dim_);
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (absl::Status st = store(labels[i], vectors.subspan(i * dim_, dim_), assignment[i]);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status IvfFlatIndex::store(uint64_t label, std::span<const float> vector, uint32_t list) {
  List& dst = lists_[list];
  if (dst.labels.size() >= std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError("IVF list is full");
  }
  remove(label);
  const size_t row = dst.labels.size();
  dst.labels.push_back(label);
  dst.data.insert(dst.data.end(), vector.begin(), vector.end());
  float* stored = dst.data.data() + row * dim_;
  if (metric_ == Metric::kCosine) normalize_in_place(std::span<float>(stored, dim_));
  if (quantized()) {
    dst.codes.resize(dst.codes.size() + dim_);
    quantizer_.encode(stored, dst.codes.data() + row * dim_);
  }
  where_[label] = Location{list, static_cast<uint32_t>(row)};
  return absl::OkStatus();
}

bool IvfFlatIndex::remove(uint64_t label) {
  auto it = where_.find(label);
  if (it == where_.end()) return false;
  const Location loc = it->second;
  where_.erase(it);
  List& list = lists_[loc.list];
  const size_t last = list.labels.size() - 1;
  if (loc.row != last) {
    std::copy_n(list.data.data() + last * dim_, dim_, list.data.data() + size_t{loc.row} * dim_);
    if (quantized()) {
      std::copy_n(list.codes.data() + last * dim_, dim_,
                  list.codes.data() + size_t{loc.row} * dim_);
    }
    list.labels[loc.row] = list.labels[last];
    where_[list.labels[loc.row]].row = loc.row;
  }
  list.labels.pop_back();
  list.data.resize(last * dim_);
  if (quantized()) list.codes.resize(last * dim_);
  return true;
}

size_t IvfFlatIndex::memory_bytes() const {
  using Slot = std::pair<const uint64_t, Location>;
  size_t bytes = centroids_.capacity() * sizeof(float) + lists_.capacity() * sizeof(List) +
                 where_.capacity() * (sizeof(Slot) + 1) + quantizer_.memory_bytes();
  for (const List& l : lists_) {
    bytes += l.data.capacity() * sizeof(float) + l.codes.capacity() +
             l.labels.capacity() * sizeof(uint64_t);
  }
  return bytes;
}

size_t IvfFlatIndex::rerank_store_bytes() const {
  if (!quantized()) return 0;
  size_t bytes = 0;
  for (const List& l : lists_) bytes += l.data.capacity() * sizeof(float);
  return bytes;
}

absl::StatusOr<std::vector<std::vector<IvfFlatIndex::Neighbor>>> IvfFlatIndex::search(
    std::span<const float> queries, size_t k, size_t nprobe, const LabelFilter* filter) const {
  if (k == 0) return absl::InvalidArgumentError("k must be at least 1");
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
  std::vector<std::vector<Neighbor>> out(nq);
  if (!is_trained() || size() == 0) return out;
  nprobe = std::min<size_t>(nprobe == 0 ? params_.nprobe : nprobe, nlist_);
  Scratch scratch;
  scratch.query.resize(dim_);
  scratch.scores.resize(std::max<size_t>(kScanBlock, nlist_));
  for (size_t qi = 0; qi < nq; ++qi) {
    std::copy_n(queries.data() + qi * dim_, dim_, scratch.query.data());
    if (metric_ == Metric::kCosine) normalize_in_place(std::span<float>(scratch.query));
    if (quantized()) {
      search_one_sq8(k, nprobe, filter, scratch, out[qi]);
    } else {
      search_one(k, nprobe, filter, scratch, out[qi]);
    }
  }
  return out;
}

void IvfFlatIndex::probe(const float* query, size_t nprobe, Scratch& scratch) const {
  // Coarse quantiser: the nprobe best centroids (ties to the smaller list id).
  const auto score_rows =
      metric_ == Metric::kL2 ? kernels_.l2_sqr_rows : kernels_.inner_product_rows;
  score_rows(query, centroids_.data(), nlist_, dim_, scratch.scores.data());
  TopK coarse(nprobe, higher_is_better(metric_));
  for (uint32_t j = 0; j < nlist_; ++j) coarse.push(j, scratch.scores[j]);
  coarse.take_sorted(scratch.probes);
}

void IvfFlatIndex::search_one(size_t k, size_t nprobe, const LabelFilter* filter, Scratch& scratch,
                              std::vector<Neighbor>& out) const {
  const float* query = scratch.query.data();
  const auto score_rows =
      metric_ == Metric::kL2 ? kernels_.l2_sqr_rows : kernels_.inner_product_rows;
  probe(query, nprobe, scratch);
  float* scores = scratch.scores.data();
  TopK top(k, higher_is_better(metric_));
  for (const Neighbor& probe : scratch.probes) {
    const List& list = lists_[probe.label];
    const size_t n = list.labels.size();
    for (size_t r0 = 0; r0 < n; r0 += kScanBlock) {
      const size_t rows = std::min(kScanBlock, n - r0);
      score_rows(query, list.data.data() + r0 * dim_, rows, dim_, scores);
      const uint64_t* labels = list.labels.data() + r0;
      if (filter == nullptr) {
        top.push_many(labels, scores, rows);
      } else {
        for (size_t r = 0; r < rows; ++r) {
          if (filter->accepts(labels[r])) top.push(labels[r], scores[r]);
        }
      }
    }
  }
  top.take_sorted(out);
}

void IvfFlatIndex::search_one_sq8(size_t k, size_t nprobe, const LabelFilter* filter,
                                  Scratch& scratch, std::vector<Neighbor>& out) const {
  const float* query = scratch.query.data();
  const bool l2 = metric_ == Metric::kL2;
  probe(query, nprobe, scratch);
  scratch.prepared.resize(dim_);
  float* prepared = scratch.prepared.data();
  // Under inner product the code score omits the constant <query, min>: ranking needs no bias.
  if (l2) {
    quantizer_.prepare_l2(query, prepared);
  } else {
    quantizer_.prepare_dot(query, prepared);
  }
  const float* scale = quantizer_.scale().data();
  float* scores = scratch.scores.data();
  scratch.keys.resize(kScanBlock);
  uint64_t* keys = scratch.keys.data();
  // Candidates are keyed by location (list << 32 | row) until re-scoring looks their labels up.
  TopK approx(size_t{params_.refine_factor} * k, higher_is_better(metric_));
  for (const Neighbor& probe : scratch.probes) {
    const List& list = lists_[probe.label];
    const size_t n = list.labels.size();
    for (size_t r0 = 0; r0 < n; r0 += kScanBlock) {
      const size_t rows = std::min(kScanBlock, n - r0);
      const uint8_t* codes = list.codes.data() + r0 * dim_;
      if (l2) {
        quantized_kernels_.sq8_l2_sqr_rows(prepared, scale, codes, rows, dim_, scores);
      } else {
        quantized_kernels_.sq8_dot_rows(prepared, codes, rows, dim_, scores);
      }
      const uint64_t* labels = list.labels.data() + r0;
      for (size_t r = 0; r < rows; ++r) keys[r] = probe.label << 32 | (r0 + r);
      if (filter == nullptr) {
        approx.push_many(keys, scores, rows);
      } else {
        for (size_t r = 0; r < rows; ++r) {
          if (filter->accepts(labels[r])) approx.push(keys[r], scores[r]);
        }
      }
    }
  }
  approx.take_sorted(scratch.candidates);
  TopK top(k, higher_is_better(metric_));
  for (const Neighbor& c : scratch.candidates) {
    const List& list = lists_[c.label >> 32];
    const size_t row = c.label & 0xFFFFFFFFu;
    const float* v = list.data.data() + row * dim_;
    top.push(list.labels[row],
             l2 ? kernels_.l2_sqr(query, v, dim_) : kernels_.inner_product(query, v, dim_));
  }
  top.take_sorted(out);
}

}  // namespace meridian::index
