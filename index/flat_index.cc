// FlatIndex storage (dense rows, swap-with-last removal), input validation and the SIMD scan path.
#include "index/flat_index.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace meridian::index {
namespace {

// Rows scored per kernel call in the scan: the scores stay in L1 between kernel and top-k.
constexpr size_t kScanBlock = 256;

KernelSet select_kernels(const std::optional<Isa>& isa) {
  if (isa.has_value()) {
    if (std::optional<KernelSet> k = kernels_for(*isa)) return *k;
  }
  return best_kernels();
}

}  // namespace

FlatIndex::FlatIndex(uint32_t dim, Metric metric, FlatIndexOptions options)
    : dim_(dim), metric_(metric), options_(options), kernels_(select_kernels(options.isa)) {
  assert(dim >= 1);
}

absl::Status FlatIndex::add(uint64_t label, std::span<const float> vector) {
  if (absl::Status st = check_vector(vector, dim_); !st.ok()) return st;
  size_t row;
  if (auto it = rows_.find(label); it != rows_.end()) {
    row = it->second;
  } else {
    if (labels_.size() >= std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError("flat index is full");
    }
    row = labels_.size();
    rows_.emplace(label, static_cast<uint32_t>(row));
    labels_.push_back(label);
    data_.resize(data_.size() + dim_);
    sq_norms_.push_back(0.0f);
  }
  std::span<float> dst(data_.data() + row * dim_, dim_);
  std::copy(vector.begin(), vector.end(), dst.begin());
  if (metric_ == Metric::kCosine) normalize_in_place(dst);
  const double n = norm(dst);
  sq_norms_[row] = static_cast<float>(n * n);
  return absl::OkStatus();
}

bool FlatIndex::remove(uint64_t label) {
  auto it = rows_.find(label);
  if (it == rows_.end()) return false;
  const size_t row = it->second;
  const size_t last = labels_.size() - 1;
  rows_.erase(it);
  if (row != last) {
    std::copy_n(data_.data() + last * dim_, dim_, data_.data() + row * dim_);
    labels_[row] = labels_[last];
    sq_norms_[row] = sq_norms_[last];
    rows_[labels_[row]] = static_cast<uint32_t>(row);
  }
  labels_.pop_back();
  sq_norms_.pop_back();
  data_.resize(last * dim_);
  return true;
}

size_t FlatIndex::memory_bytes() const {
  using Slot = std::pair<const uint64_t, uint32_t>;
  return data_.capacity() * sizeof(float) + labels_.capacity() * sizeof(uint64_t) +
         sq_norms_.capacity() * sizeof(float) + rows_.capacity() * (sizeof(Slot) + 1);
}

std::span<const float> FlatIndex::vector_of(uint64_t label) const {
  auto it = rows_.find(label);
  if (it == rows_.end()) return {};
  return {row_data(it->second), dim_};
}

absl::StatusOr<std::vector<std::vector<FlatIndex::Neighbor>>> FlatIndex::search(
    std::span<const float> queries, size_t k) const {
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
  k = std::min(k, size());
  if (k == 0 || nq == 0) return out;
  std::vector<float> storage;
  std::span<const float> prepared = prepared_queries(queries, storage);
  if (nq >= options_.gemm_min_queries) {
    search_gemm(prepared, k, out);
  } else {
    search_scan(prepared, k, out);
  }
  return out;
}

std::span<const float> FlatIndex::prepared_queries(std::span<const float> queries,
                                                   std::vector<float>& storage) const {
  if (metric_ != Metric::kCosine) return queries;
  storage.assign(queries.begin(), queries.end());
  for (size_t i = 0; i < storage.size(); i += dim_) {
    normalize_in_place(std::span<float>(storage.data() + i, dim_));
  }
  return storage;
}

float FlatIndex::exact_score(const float* query, size_t row) const {
  return metric_ == Metric::kL2 ? kernels_.l2_sqr(query, row_data(row), dim_)
                                : kernels_.inner_product(query, row_data(row), dim_);
}

void FlatIndex::search_scan(std::span<const float> queries, size_t k,
                            std::vector<std::vector<Neighbor>>& out) const {
  const auto score_rows =
      metric_ == Metric::kL2 ? kernels_.l2_sqr_rows : kernels_.inner_product_rows;
  TopK top(k, higher_is_better(metric_));
  float scores[kScanBlock];
  const size_t n = size();
  for (size_t qi = 0; qi < out.size(); ++qi) {
    const float* q = queries.data() + qi * dim_;
    top.reset();
    for (size_t r0 = 0; r0 < n; r0 += kScanBlock) {
      const size_t rows = std::min(kScanBlock, n - r0);
      score_rows(q, row_data(r0), rows, dim_, scores);
      top.push_many(labels_.data() + r0, scores, rows);
    }
    top.take_sorted(out[qi]);
  }
}

}  // namespace meridian::index
