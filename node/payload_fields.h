// Mapping between a point's payload (a JSON object's text) and the CRDT's per-field registers
// (top-level field name -> compact JSON text of its value), and between point ids and CRDT ids.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "crdt/point_set.h"
#include "schema/types.h"

namespace meridian::node {

// The fields of a normalised payload ("" has none). InvalidArgument unless `payload_json` is
// empty or a JSON object (callers normalise first, so this only fails on a bug).
absl::StatusOr<crdt::PayloadFields> split_payload(const std::string& payload_json);

// The payload text of `fields`: a JSON object with the fields in name order (the normalised form
// split_payload reads), or "" when there are none.
std::string join_payload(const crdt::PayloadFields& fields);

// A point id as the CRDT's opaque bytes: a kind byte then the id (as storage orders them), and
// back. DataLoss for bytes this mapping did not produce.
crdt::PointId crdt_id_of(const PointId& id);
absl::StatusOr<PointId> point_id_of(const crdt::PointId& crdt_id);

}  // namespace meridian::node
