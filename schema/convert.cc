// Plain type <-> Cap'n Proto conversions; see convert.h.
#include "schema/convert.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace meridian {

absl::StatusOr<PointId> point_id_from_rpc(rpc::PointId::Reader id) {
  switch (id.which()) {
    case rpc::PointId::NUM:
      return PointId::number(id.getNum());
    case rpc::PointId::UUID: {
      auto data = id.getUuid();
      if (data.size() != 16) {
        return absl::InvalidArgumentError(
            absl::StrCat("UUID point id must be 16 bytes, got ", data.size()));
      }
      Uuid u;
      std::memcpy(u.data(), data.begin(), 16);
      return PointId::uuid(u);
    }
  }
  return absl::InvalidArgumentError("point id of unknown kind (newer client?)");
}

void point_id_to_rpc(const PointId& id, rpc::PointId::Builder out) {
  if (id.is_number()) {
    out.setNum(id.as_number());
  } else {
    const Uuid& u = id.as_uuid();
    out.setUuid(capnp::Data::Reader(u.data(), u.size()));
  }
}

absl::StatusOr<Metric> metric_from_rpc(rpc::Metric m) {
  switch (m) {
    case rpc::Metric::L2:
      return Metric::kL2;
    case rpc::Metric::COSINE:
      return Metric::kCosine;
    case rpc::Metric::DOT:
      return Metric::kDot;
  }
  return absl::InvalidArgumentError("unknown metric (newer client?)");
}

rpc::Metric metric_to_rpc(Metric m) {
  switch (m) {
    case Metric::kL2:
      return rpc::Metric::L2;
    case Metric::kCosine:
      return rpc::Metric::COSINE;
    case Metric::kDot:
      return rpc::Metric::DOT;
  }
  return rpc::Metric::L2;
}

absl::StatusOr<CollectionConfig> collection_config_from_rpc(rpc::CollectionConfig::Reader c) {
  CollectionConfig out;
  out.name = std::string(c.getName().cStr(), c.getName().size());
  out.dim = c.getDim();
  auto metric = metric_from_rpc(c.getMetric());
  if (!metric.ok()) return metric.status();
  out.metric = *metric;
  switch (c.getIndexKind()) {
    case rpc::IndexKind::FLAT:
      out.index_kind = IndexKind::kFlat;
      break;
    case rpc::IndexKind::HNSW:
      out.index_kind = IndexKind::kHnsw;
      break;
    case rpc::IndexKind::IVF_FLAT:
      out.index_kind = IndexKind::kIvfFlat;
      break;
    case rpc::IndexKind::IVF_PQ:
      out.index_kind = IndexKind::kIvfPq;
      break;
    default:
      return absl::InvalidArgumentError("unknown index kind (newer client?)");
  }
  if (c.getHnswM() != 0) out.hnsw_m = c.getHnswM();
  if (c.getHnswEfConstruction() != 0) out.hnsw_ef_construction = c.getHnswEfConstruction();
  out.ivf_nlist = c.getIvfNlist();
  if (c.getSegmentSealPoints() != 0) out.segment_seal_points = c.getSegmentSealPoints();
  if (c.getSegmentRebuildDeletedPercent() != 0) {
    out.segment_rebuild_deleted_percent = c.getSegmentRebuildDeletedPercent();
  }
  out.pq_m = c.getPqM();
  out.refine_factor = c.getRefineFactor();
  switch (c.getQuantization()) {
    case rpc::Quantization::NONE:
      out.quantization = Quantization::kNone;
      break;
    case rpc::Quantization::SQ8:
      out.quantization = Quantization::kSq8;
      break;
    default:
      return absl::InvalidArgumentError("unknown quantization (newer client?)");
  }
  if (c.getShardCount() != 0) out.shard_count = c.getShardCount();
  out.replication_factor = c.getReplicationFactor();
  return out;
}

rpc::IndexKind index_kind_to_rpc(IndexKind k) {
  switch (k) {
    case IndexKind::kFlat:
      return rpc::IndexKind::FLAT;
    case IndexKind::kHnsw:
      return rpc::IndexKind::HNSW;
    case IndexKind::kIvfFlat:
      return rpc::IndexKind::IVF_FLAT;
    case IndexKind::kIvfPq:
      return rpc::IndexKind::IVF_PQ;
  }
  return rpc::IndexKind::FLAT;
}

void collection_config_to_rpc(const CollectionConfig& c, rpc::CollectionConfig::Builder out) {
  out.setName(c.name);
  out.setDim(c.dim);
  out.setMetric(metric_to_rpc(c.metric));
  out.setIndexKind(index_kind_to_rpc(c.index_kind));
  out.setHnswM(c.hnsw_m);
  out.setHnswEfConstruction(c.hnsw_ef_construction);
  out.setIvfNlist(c.ivf_nlist);
  out.setSegmentSealPoints(c.segment_seal_points);
  out.setSegmentRebuildDeletedPercent(c.segment_rebuild_deleted_percent);
  out.setPqM(c.pq_m);
  out.setRefineFactor(c.refine_factor);
  out.setQuantization(c.quantization == Quantization::kSq8 ? rpc::Quantization::SQ8
                                                           : rpc::Quantization::NONE);
  out.setShardCount(c.shard_count);
  out.setReplicationFactor(c.replication_factor);
}

}  // namespace meridian
