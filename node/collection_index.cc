// Flat-or-HNSW index of a collection; see collection_index.h.
#include "node/collection_index.h"

namespace meridian::node {
namespace {

index::Metric index_metric(Metric m) {
  switch (m) {
    case Metric::kL2:
      return index::Metric::kL2;
    case Metric::kCosine:
      return index::Metric::kCosine;
    case Metric::kDot:
      return index::Metric::kInnerProduct;
  }
  return index::Metric::kL2;
}

}  // namespace

CollectionIndex::CollectionIndex(const CollectionConfig& config) {
  if (config.index_kind == IndexKind::kHnsw) {
    index::HnswParams params;
    params.m = config.hnsw_m;
    params.ef_construction = config.hnsw_ef_construction;
    params.ef_search = kDefaultHnswEf;
    hnsw_ = std::make_unique<index::HnswIndex>(config.dim, index_metric(config.metric), params);
  } else {
    flat_ = std::make_unique<index::FlatIndex>(config.dim, index_metric(config.metric));
  }
}

absl::Status CollectionIndex::add(uint64_t label, std::span<const float> vector) {
  return hnsw_ ? hnsw_->add(label, vector) : flat_->add(label, vector);
}

absl::Status CollectionIndex::add_batch(std::span<const uint64_t> labels,
                                        std::span<const float> vectors, size_t threads) {
  if (hnsw_) return hnsw_->add_batch(labels, vectors, threads);
  const size_t dim = flat_->dim();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (auto s = flat_->add(labels[i], vectors.subspan(i * dim, dim)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool CollectionIndex::remove(uint64_t label) {
  return hnsw_ ? hnsw_->remove(label) : flat_->remove(label);
}

size_t CollectionIndex::size() const { return hnsw_ ? hnsw_->size() : flat_->size(); }

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> CollectionIndex::search(
    std::span<const float> queries, size_t k, uint32_t ef, const index::LabelFilter* filter) const {
  if (hnsw_) return hnsw_->search(queries, k, ef, filter);
  return flat_->search(queries, k);
}

std::span<const float> CollectionIndex::vector_of(uint64_t label) const {
  return flat_ ? flat_->vector_of(label) : hnsw_->vector_of_label(label);
}

}  // namespace meridian::node
