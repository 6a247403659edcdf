// Conversions between the plain types of schema/types.h and their Cap'n Proto forms in
// api.capnp. Readers validate what a peer could get wrong (a UUID of the wrong length).
#pragma once

#include "absl/status/statusor.h"
#include "schema/api.capnp.h"
#include "schema/types.h"

namespace meridian {

absl::StatusOr<PointId> point_id_from_rpc(rpc::PointId::Reader id);
void point_id_to_rpc(const PointId& id, rpc::PointId::Builder out);

absl::StatusOr<Metric> metric_from_rpc(rpc::Metric m);
rpc::Metric metric_to_rpc(Metric m);

rpc::IndexKind index_kind_to_rpc(IndexKind k);

absl::StatusOr<CollectionConfig> collection_config_from_rpc(rpc::CollectionConfig::Reader c);
void collection_config_to_rpc(const CollectionConfig& c, rpc::CollectionConfig::Builder out);

}  // namespace meridian
