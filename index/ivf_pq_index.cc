// IvfPqIndex: coarse and product quantiser training, residual encoding, list storage
// (swap-with-last removal) and the ADC scan with optional exact re-ranking.
#include "index/ivf_pq_index.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "index/kmeans.h"

namespace meridian::index {
namespace {

constexpr uint32_t kMaxLists = 65536;
constexpr uint32_t kMaxSubquantizers = 4096;
constexpr uint32_t kMaxRefineFactor = 1024;
constexpr size_t kDefaultPqSample = 64 * ProductQuantizer::kCentroids;
// Rows scored per block of the scan: keys and scores stay in L1 between scan and top-k.
constexpr size_t kScanBlock = 256;

uint32_t effective_m(uint32_t dim, uint32_t m) {
  return m != 0 ? m : std::min(kMaxSubquantizers, std::max<uint32_t>(1, dim / 4));
}

// ADC: the sum of the m table entries a code selects. Four partial sums break the add chain.
inline float adc_score(const float* tables, const uint8_t* code, size_t m) {
  constexpr size_t kC = ProductQuantizer::kCentroids;
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t j = 0;
  for (; j + 4 <= m; j += 4) {
    s0 += tables[j * kC + code[j]];
    s1 += tables[(j + 1) * kC + code[j + 1]];
    s2 += tables[(j + 2) * kC + code[j + 2]];
    s3 += tables[(j + 3) * kC + code[j + 3]];
  }
  for (; j < m; ++j) s0 += tables[j * kC + code[j]];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

absl::Status IvfPqParams::validate() const {
  if (nlist > kMaxLists) {
    return absl::InvalidArgumentError(absl::StrCat("nlist ", nlist, " outside [0, 65536]"));
  }
  if (nprobe < 1 || nprobe > kMaxLists) {
    return absl::InvalidArgumentError(absl::StrCat("nprobe ", nprobe, " outside [1, 65536]"));
  }
  if (m > kMaxSubquantizers) {
    return absl::InvalidArgumentError(absl::StrCat("m ", m, " outside [0, 4096]"));
  }
  if (refine_factor > kMaxRefineFactor) {
    return absl::InvalidArgumentError(
        absl::StrCat("refine_factor ", refine_factor, " outside [0, ", kMaxRefineFactor, "]"));
  }
  if (kmeans_iterations < 1 || kmeans_iterations > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("kmeans_iterations ", kmeans_iterations, " outside [1, 1000]"));
  }
  return absl::OkStatus();
}

IvfPqIndex::IvfPqIndex(uint32_t dim, Metric metric, IvfPqParams params)
    : dim_(dim),
      metric_(metric),
      params_(params),
      m_(effective_m(dim, params.m)),
      kernels_(best_kernels()) {
  assert(dim >= 1 && dim <= kMaxDim && m_ <= dim);
}

absl::StatusOr<IvfPqIndex> IvfPqIndex::create(uint32_t dim, Metric metric, IvfPqParams params) {
  if (dim == 0 || dim > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("dimension ", dim, " outside [1, ", kMaxDim, "]"));
  }
  if (absl::Status st = params.validate(); !st.ok()) return st;
  if (params.m > dim) {
    return absl::InvalidArgumentError(absl::StrCat("m ", params.m, " exceeds dimension ", dim));
  }
  return IvfPqIndex(dim, metric, params);
}

absl::Status IvfPqIndex::train(std::span<const float> vectors) {
  if (is_trained()) return absl::FailedPreconditionError("IVF-PQ index is already trained");
  if (absl::Status st = check_vectors(vectors, dim_); !st.ok()) return st;
  return train_unchecked(vectors);
}

absl::Status IvfPqIndex::train_unchecked(std::span<const float> vectors) {
  KMeansParams km;
  km.nlist = params_.nlist;
  km.iterations = params_.kmeans_iterations;
  km.sample = params_.train_sample;
  km.seed = params_.seed;
  absl::StatusOr<std::vector<float>> centroids =
      train_coarse_quantizer(vectors, dim_, km, metric_, kMaxLists);
  if (!centroids.ok()) return centroids.status();
  const uint32_t nlist = static_cast<uint32_t>(centroids->size() / dim_);
  const size_t n = vectors.size() / dim_;

  // The product quantiser learns residuals from the centroids, on evenly spaced rows.
  const size_t want =
      std::max(ProductQuantizer::kCentroids,
               params_.pq_train_sample == 0 ? kDefaultPqSample : params_.pq_train_sample);
  const size_t s = std::min(n, want);
  std::vector<float> residuals(s * dim_);
  for (size_t i = 0; i < s; ++i) {
    float* row = residuals.data() + i * dim_;
    std::copy_n(vectors.data() + (i * n / s) * dim_, dim_, row);
    if (metric_ == Metric::kCosine) normalize_in_place(std::span<float>(row, dim_));
  }
  std::vector<uint32_t> assignment(s);
  assign_nearest(residuals, dim_, *centroids, metric_, assignment);
  std::vector<float> bases;
  if (metric_ != Metric::kL2) {
    // Residual bases: the mean of each list's sample rows (its centroid when it has none).
    std::vector<double> sums(size_t{nlist} * dim_, 0.0);
    std::vector<size_t> counts(nlist, 0);
    for (size_t i = 0; i < s; ++i) {
      double* sum = sums.data() + size_t{assignment[i]} * dim_;
      for (size_t d = 0; d < dim_; ++d) sum[d] += residuals[i * dim_ + d];
      ++counts[assignment[i]];
    }
    bases = *centroids;
    for (size_t l = 0; l < nlist; ++l) {
      if (counts[l] == 0) continue;
      for (size_t d = 0; d < dim_; ++d) {
        bases[l * dim_ + d] =
            static_cast<float>(sums[l * dim_ + d] / static_cast<double>(counts[l]));
      }
    }
  }
  const std::vector<float>& from = metric_ == Metric::kL2 ? *centroids : bases;
  for (size_t i = 0; i < s; ++i) {
    const float* c = from.data() + size_t{assignment[i]} * dim_;
    for (size_t d = 0; d < dim_; ++d) residuals[i * dim_ + d] -= c[d];
  }
  absl::StatusOr<ProductQuantizer> pq =
      ProductQuantizer::train(residuals, dim_, m_, params_.kmeans_iterations, params_.seed + 1);
  if (!pq.ok()) return pq.status();
  centroids_ = *std::move(centroids);
  bases_ = std::move(bases);
  pq_ = *std::move(pq);
  nlist_ = nlist;
  lists_.assign(nlist, List{});
  return absl::OkStatus();
}

absl::Status IvfPqIndex::add(uint64_t label, std::span<const float> vector) {
  if (!is_trained()) {
    return absl::FailedPreconditionError(
        "IVF-PQ index is not trained: call train() or add_batch()");
  }
  if (absl::Status st = check_vector(vector, dim_); !st.ok()) return st;
  std::vector<float> v(vector.begin(), vector.end());
  if (metric_ == Metric::kCosine) normalize_in_place(std::span<float>(v));
  uint32_t list = 0;
  assign_nearest(v, dim_, centroids_, metric_, std::span<uint32_t>(&list, 1));
  std::vector<float> residual;
  return store(label, v.data(), list, residual);
}

absl::Status IvfPqIndex::add_batch(std::span<const uint64_t> labels,
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
  std::vector<float> prepared(vectors.begin(), vectors.end());
  if (metric_ == Metric::kCosine) {
    for (size_t i = 0; i < labels.size(); ++i) {
      normalize_in_place(std::span<float>(prepared.data() + i * dim_, dim_));
    }
  }
  std::vector<uint32_t> assignment(labels.size());
  assign_nearest(prepared, dim_, centroids_, metric_, assignment);
  // Grow each list once, to its final size, rather than by doubling.
  std::vector<size_t> added(nlist_, 0);
  for (uint32_t list : assignment) ++added[list];
  for (uint32_t l = 0; l < nlist_; ++l) {
    if (added[l] == 0) continue;
    List& list = lists_[l];
    const size_t rows = list.labels.size() + added[l];
    list.labels.reserve(rows);
    list.codes.reserve(rows * m_);
    if (keeps_full()) list.full.reserve(rows * dim_);
  }
  std::vector<float> residual(dim_);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (absl::Status st = store(labels[i], prepared.data() + i * dim_, assignment[i], residual);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status IvfPqIndex::store(uint64_t label, const float* vector, uint32_t list,
                               std::vector<float>& residual) {
  List& dst = lists_[list];
  if (dst.labels.size() >= std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError("IVF-PQ list is full");
  }
  remove(label);
  residual.resize(dim_);
  const float* c = base_of(list);
  for (size_t d = 0; d < dim_; ++d) residual[d] = vector[d] - c[d];
  const size_t row = dst.labels.size();
  dst.labels.push_back(label);
  dst.codes.resize(dst.codes.size() + m_);
  pq_.encode(residual.data(), dst.codes.data() + row * m_);
  if (keeps_full()) dst.full.insert(dst.full.end(), vector, vector + dim_);
  where_[label] = Location{list, static_cast<uint32_t>(row)};
  return absl::OkStatus();
}

bool IvfPqIndex::remove(uint64_t label) {
  auto it = where_.find(label);
  if (it == where_.end()) return false;
  const Location loc = it->second;
  where_.erase(it);
  List& list = lists_[loc.list];
  const size_t last = list.labels.size() - 1;
  if (loc.row != last) {
    std::copy_n(list.codes.data() + last * m_, m_, list.codes.data() + size_t{loc.row} * m_);
    if (keeps_full()) {
      std::copy_n(list.full.data() + last * dim_, dim_, list.full.data() + size_t{loc.row} * dim_);
    }
    list.labels[loc.row] = list.labels[last];
    where_[list.labels[loc.row]].row = loc.row;
  }
  list.labels.pop_back();
  list.codes.resize(last * m_);
  if (keeps_full()) list.full.resize(last * dim_);
  return true;
}

size_t IvfPqIndex::memory_bytes() const {
  using Slot = std::pair<const uint64_t, Location>;
  size_t bytes = (centroids_.capacity() + bases_.capacity()) * sizeof(float) + pq_.memory_bytes() +
                 lists_.capacity() * sizeof(List) + where_.capacity() * (sizeof(Slot) + 1);
  for (const List& l : lists_) {
    bytes += l.codes.capacity() + l.labels.capacity() * sizeof(uint64_t) +
             l.full.capacity() * sizeof(float);
  }
  return bytes;
}

size_t IvfPqIndex::rerank_store_bytes() const {
  size_t bytes = 0;
  for (const List& l : lists_) bytes += l.full.capacity() * sizeof(float);
  return bytes;
}

absl::StatusOr<std::vector<std::vector<IvfPqIndex::Neighbor>>> IvfPqIndex::search(
    std::span<const float> queries, size_t k, size_t nprobe, const LabelFilter* filter,
    std::optional<uint32_t> refine_factor) const {
  if (k == 0) return absl::InvalidArgumentError("k must be at least 1");
  if (queries.size() % dim_ != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query buffer of ", queries.size(), " floats is not a multiple of dimension ", dim_));
  }
  const uint32_t refine = refine_factor.value_or(params_.refine_factor);
  if (refine > kMaxRefineFactor) {
    return absl::InvalidArgumentError(absl::StrCat("refine_factor ", refine, " exceeds 1024"));
  }
  if (refine > 0 && !keeps_full()) {
    return absl::InvalidArgumentError(
        "refinement needs the float32 vectors: build the index with refine_factor > 0");
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
  scratch.residual.resize(dim_);
  scratch.tables.resize(size_t{m_} * ProductQuantizer::kCentroids);
  scratch.scores.resize(nlist_);
  for (size_t qi = 0; qi < nq; ++qi) {
    std::copy_n(queries.data() + qi * dim_, dim_, scratch.query.data());
    if (metric_ == Metric::kCosine) normalize_in_place(std::span<float>(scratch.query));
    search_one(k, nprobe, filter, refine, scratch, out[qi]);
  }
  return out;
}

void IvfPqIndex::search_one(size_t k, size_t nprobe, const LabelFilter* filter, uint32_t refine,
                            Scratch& scratch, std::vector<Neighbor>& out) const {
  const float* query = scratch.query.data();
  const bool l2 = metric_ == Metric::kL2;
  const bool higher = higher_is_better(metric_);
  // Coarse quantiser: the nprobe best centroids (ties to the smaller list id).
  (l2 ? kernels_.l2_sqr_rows : kernels_.inner_product_rows)(query, centroids_.data(), nlist_, dim_,
                                                            scratch.scores.data());
  TopK coarse(nprobe, higher);
  for (uint32_t j = 0; j < nlist_; ++j) coarse.push(j, scratch.scores[j]);
  coarse.take_sorted(scratch.probes);

  // Under L2 the tables depend on the list (residual query); under inner product
  // <q, b + r> = <q, b> + sum_j <q_j, r_j> (b the list's base), so one table serves every list.
  float* tables = scratch.tables.data();
  if (!l2) pq_.dot_tables(query, tables);
  // With refinement, candidates are keyed by location (list << 32 | row) for re-scoring.
  TopK approx(refine > 0 ? size_t{refine} * k : k, higher);
  uint64_t keys[kScanBlock];
  float scores[kScanBlock];
  for (const Neighbor& probe : scratch.probes) {
    const List& list = lists_[probe.label];
    float base = 0.0f;
    const float* b = base_of(probe.label);
    if (l2) {
      for (size_t d = 0; d < dim_; ++d) scratch.residual[d] = query[d] - b[d];
      pq_.l2_tables(scratch.residual.data(), tables);
    } else {
      base = kernels_.inner_product(query, b, dim_);
    }
    const size_t n = list.labels.size();
    for (size_t r0 = 0; r0 < n; r0 += kScanBlock) {
      const size_t rows = std::min(kScanBlock, n - r0);
      const uint8_t* codes = list.codes.data() + r0 * m_;
      for (size_t r = 0; r < rows; ++r) scores[r] = base + adc_score(tables, codes + r * m_, m_);
      const uint64_t* labels = list.labels.data() + r0;
      if (refine > 0) {
        for (size_t r = 0; r < rows; ++r) keys[r] = probe.label << 32 | (r0 + r);
      } else {
        std::copy_n(labels, rows, keys);
      }
      if (filter == nullptr) {
        approx.push_many(keys, scores, rows);
      } else {
        for (size_t r = 0; r < rows; ++r) {
          if (filter->accepts(labels[r])) approx.push(keys[r], scores[r]);
        }
      }
    }
  }
  if (refine == 0) {
    approx.take_sorted(out);
    return;
  }
  approx.take_sorted(scratch.candidates);
  TopK top(k, higher);
  for (const Neighbor& c : scratch.candidates) {
    const List& list = lists_[c.label >> 32];
    const size_t row = c.label & 0xFFFFFFFFu;
    const float* v = list.full.data() + row * dim_;
    top.push(list.labels[row],
             l2 ? kernels_.l2_sqr(query, v, dim_) : kernels_.inner_product(query, v, dim_));
  }
  top.take_sorted(out);
}

}  // namespace meridian::index
