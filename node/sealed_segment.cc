// Sealed HNSW, IVF-Flat and IVF-PQ segments and their builds; see sealed_segment.h.
#include "node/sealed_segment.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace meridian::node {
namespace {

// Turns row-keyed results into node labels.
void rows_to_labels(std::span<const uint64_t> labels,
                    std::vector<std::vector<index::Neighbor>>& results) {
  for (auto& list : results) {
    for (auto& n : list) n.label = labels[n.label];
  }
}

std::vector<uint64_t> row_numbers(size_t n) {
  std::vector<uint64_t> rows(n);
  std::iota(rows.begin(), rows.end(), uint64_t{0});
  return rows;
}

}  // namespace

index::Metric index_metric(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return index::Metric::kL2;
    case Metric::kCosine:
      return index::Metric::kCosine;
    case Metric::kDot:
      return index::Metric::kInnerProduct;
  }
  return index::Metric::kL2;
}

SegmentSpec SegmentSpec::of(const CollectionConfig& config) {
  SegmentSpec spec;
  spec.kind = config.index_kind;
  spec.dim = config.dim;
  spec.metric = index_metric(config.metric);
  spec.hnsw.m = config.hnsw_m;
  spec.hnsw.ef_construction = config.hnsw_ef_construction;
  spec.hnsw.ef_search = kDefaultHnswEf;
  spec.ivf_nlist = config.ivf_nlist;
  const bool sq8 = config.quantization == Quantization::kSq8;
  const uint32_t refine = effective_refine_factor(config);
  if (sq8) {
    spec.hnsw.quantization = index::Quantization::kSq8;
    spec.hnsw.refine_factor = refine;
    spec.ivf_quantization = index::Quantization::kSq8;
    spec.ivf_refine_factor = refine;
  }
  if (config.index_kind == IndexKind::kIvfPq) {
    spec.pq_m = ivf_pq_m_for(config.pq_m, config.dim);
    spec.pq_refine_factor = refine;
  }
  return spec;
}

uint32_t ivf_lists_for(uint32_t configured, size_t n) {
  if (configured != 0) return configured;
  const double by_sqrt = std::round(4.0 * std::sqrt(static_cast<double>(n)));
  const double by_training = std::floor(static_cast<double>(n) / 39.0);
  const double lists = std::min({by_sqrt, by_training, static_cast<double>(kMaxIvfNlist)});
  return static_cast<uint32_t>(std::max(1.0, lists));
}

uint32_t ivf_lists_of(const SegmentSpec& spec, size_t n) {
  return std::min<uint32_t>(ivf_lists_for(spec.ivf_nlist, n),
                            static_cast<uint32_t>(std::min<size_t>(n, kMaxIvfNlist)));
}

uint32_t ivf_default_nprobe(uint32_t nlist) {
  return std::min(nlist, std::max<uint32_t>(8, (nlist + 7) / 8));
}

HnswSegment::HnswSegment(std::unique_ptr<index::HnswIndex> hnsw, std::vector<uint64_t> labels,
                         std::vector<PointId> ids)
    : Segment(Kind::kHnsw, hnsw->dim(), hnsw->metric(), std::move(labels), std::move(ids)),
      hnsw_(std::move(hnsw)) {}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> HnswSegment::search(
    std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
    const index::LabelFilter* filter) const {
  // Dead rows must be filtered even without a user filter.
  RowFilter rows(labels(), filter);
  const bool all_live = filter == nullptr && dead_rows() == 0;
  auto results = hnsw_->search(queries, k, knobs.ef, all_live ? nullptr : &rows);
  if (!results.ok()) return results.status();
  rows_to_labels(labels(), *results);
  return results;
}

IvfFlatSegment::IvfFlatSegment(std::unique_ptr<index::IvfFlatIndex> ivf,
                               std::shared_ptr<const SegmentRows> rows)
    : Segment(Kind::kIvfFlat, ivf->dim(), ivf->metric(), rows->labels, rows->ids),
      ivf_(std::move(ivf)),
      rows_(std::move(rows)) {}

std::span<const float> IvfFlatSegment::vector_at(uint32_t row) const {
  return std::span<const float>(rows_->vectors).subspan(size_t{row} * dim(), dim());
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> IvfFlatSegment::search(
    std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
    const index::LabelFilter* filter) const {
  RowFilter rows(labels(), filter);
  const bool all_live = filter == nullptr && dead_rows() == 0;
  uint32_t nprobe = std::min(knobs.nprobe, ivf_->nlist());
  if (knobs.nprobe == 0) {
    const double fraction = std::clamp(knobs.filter_fraction, 1e-6, 1.0);
    const double scaled = std::ceil(ivf_default_nprobe(ivf_->nlist()) / fraction);
    nprobe = static_cast<uint32_t>(std::min<double>(scaled, ivf_->nlist()));
  }
  auto results = ivf_->search(queries, k, nprobe, all_live ? nullptr : &rows);
  if (!results.ok()) return results.status();
  rows_to_labels(labels(), *results);
  return results;
}

IvfPqSegment::IvfPqSegment(std::unique_ptr<index::IvfPqIndex> pq,
                           std::shared_ptr<const SegmentRows> rows)
    : Segment(Kind::kIvfPq, pq->dim(), pq->metric(), rows->labels, rows->ids),
      pq_(std::move(pq)),
      rows_(std::move(rows)) {}

std::span<const float> IvfPqSegment::vector_at(uint32_t row) const {
  return std::span<const float>(rows_->vectors).subspan(size_t{row} * dim(), dim());
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> IvfPqSegment::search(
    std::span<const float> queries, size_t k, const SegmentKnobs& knobs,
    const index::LabelFilter* filter) const {
  RowFilter rows(labels(), filter);
  const bool all_live = filter == nullptr && dead_rows() == 0;
  uint32_t nprobe = std::min(knobs.nprobe, pq_->nlist());
  if (knobs.nprobe == 0) {
    const double fraction = std::clamp(knobs.filter_fraction, 1e-6, 1.0);
    const double scaled = std::ceil(ivf_default_nprobe(pq_->nlist()) / fraction);
    nprobe = static_cast<uint32_t>(std::min<double>(scaled, pq_->nlist()));
  }
  auto results = pq_->search(queries, k, nprobe, all_live ? nullptr : &rows);
  if (!results.ok()) return results.status();
  rows_to_labels(labels(), *results);
  return results;
}

absl::StatusOr<std::shared_ptr<const Segment>> build_sealed_segment(
    const SegmentSpec& spec, std::shared_ptr<const SegmentRows> rows, size_t threads) {
  const size_t n = rows->size();
  if (n == 0) return absl::InvalidArgumentError("a sealed segment needs at least one point");
  const std::vector<uint64_t> row_labels = row_numbers(n);
  switch (spec.kind) {
    case IndexKind::kHnsw: {
      auto hnsw = index::HnswIndex::create(spec.dim, spec.metric, spec.hnsw);
      if (!hnsw.ok()) return hnsw.status();
      if (auto s = (*hnsw)->add_batch(row_labels, rows->vectors, std::max<size_t>(threads, 1));
          !s.ok()) {
        return s;
      }
      return std::make_shared<const HnswSegment>(*std::move(hnsw), rows->labels, rows->ids);
    }
    case IndexKind::kIvfFlat: {
      index::IvfFlatParams params;
      params.nlist = ivf_lists_of(spec, n);
      params.quantization = spec.ivf_quantization;
      params.refine_factor = spec.ivf_refine_factor;
      auto ivf = index::IvfFlatIndex::create(spec.dim, spec.metric, params);
      if (!ivf.ok()) return ivf.status();
      auto owned = std::make_unique<index::IvfFlatIndex>(*std::move(ivf));
      if (auto s = owned->add_batch(row_labels, rows->vectors); !s.ok()) return s;
      return std::make_shared<const IvfFlatSegment>(std::move(owned), std::move(rows));
    }
    case IndexKind::kIvfPq: {
      index::IvfPqParams params;
      params.nlist = ivf_lists_of(spec, n);
      params.m = std::min(spec.pq_m, spec.dim);
      params.refine_factor = spec.pq_refine_factor;
      auto pq = index::IvfPqIndex::create(spec.dim, spec.metric, params);
      if (!pq.ok()) return pq.status();
      auto owned = std::make_unique<index::IvfPqIndex>(*std::move(pq));
      if (auto s = owned->add_batch(row_labels, rows->vectors); !s.ok()) return s;
      return std::make_shared<const IvfPqSegment>(std::move(owned), std::move(rows));
    }
    case IndexKind::kFlat:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "index kind ", std::string(index_kind_name(spec.kind)), " has no sealed segments"));
}

}  // namespace meridian::node
