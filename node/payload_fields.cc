// Payload <-> field registers and id mapping; see payload_fields.h.
#include "node/payload_fields.h"

#include <nlohmann/json.hpp>

#include "storage/point_record.h"

namespace meridian::node {

absl::StatusOr<crdt::PayloadFields> split_payload(const std::string& payload_json) {
  crdt::PayloadFields fields;
  if (payload_json.empty()) return fields;
  nlohmann::json parsed = nlohmann::json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return absl::InvalidArgumentError("payload must be a JSON object");
  for (const auto& [key, value] : parsed.items()) {
    fields[key] = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return fields;
}

std::string join_payload(const crdt::PayloadFields& fields) {
  if (fields.empty()) return "";
  std::string out = "{";
  for (const auto& [name, json] : fields) {
    if (out.size() > 1) out.push_back(',');
    out += nlohmann::json(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back(':');
    out += json;
  }
  out.push_back('}');
  return out;
}

crdt::PointId crdt_id_of(const PointId& id) { return storage::encode_point_key(0, id).substr(4); }

absl::StatusOr<PointId> point_id_of(const crdt::PointId& crdt_id) {
  uint32_t ignored = 0;
  auto id = storage::decode_point_key(std::string(4, '\0') + crdt_id, &ignored);
  if (!id.ok()) return absl::DataLossError("malformed point id in CRDT state");
  return id;
}

}  // namespace meridian::node
