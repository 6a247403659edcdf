// Encodings of point keys, point values and collection records; see point_record.h.
#include "storage/point_record.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace meridian::storage {
namespace {

constexpr uint8_t kPointValueVersion = 1;
// Version 2 appends the HNSW parameters, version 3 the IVF and segment parameters (and allows
// index kind ivf_flat), version 4 the IVF-PQ and quantization parameters (pq m, refine factor:
// u32 each; quantization: u8; and allows index kind ivf_pq), version 5 the sharding parameters
// (shard count, replication factor: u32 each); version 1 (flat only), 2, 3 and 4 records still
// decode, with defaults (one shard on every node: the layout before sharding).
constexpr uint8_t kCollectionValueVersion = 5;
constexpr uint8_t kKindNumber = 0;
constexpr uint8_t kKindUuid = 1;

void put_u32_be(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_u64_be(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
uint64_t get_be(std::string_view in, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
void put_u32_le(std::string& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(v >> shift));
}
uint32_t get_u32_le(std::string_view in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace

std::string collection_key_prefix(uint32_t collection_id) {
  std::string out;
  put_u32_be(out, collection_id);
  return out;
}

std::string encode_point_key(uint32_t collection_id, const PointId& id) {
  std::string out = collection_key_prefix(collection_id);
  if (id.is_number()) {
    out.push_back(static_cast<char>(kKindNumber));
    put_u64_be(out, id.as_number());
  } else {
    out.push_back(static_cast<char>(kKindUuid));
    out.append(reinterpret_cast<const char*>(id.as_uuid().data()), 16);
  }
  return out;
}

absl::StatusOr<PointId> decode_point_key(std::string_view key, uint32_t* collection_id) {
  if (key.size() < 5) return absl::DataLossError("point key too short");
  *collection_id = static_cast<uint32_t>(get_be(key, 4));
  uint8_t kind = static_cast<uint8_t>(key[4]);
  std::string_view rest = key.substr(5);
  if (kind == kKindNumber && rest.size() == 8) return PointId::number(get_be(rest, 8));
  if (kind == kKindUuid && rest.size() == 16) {
    Uuid u;
    std::memcpy(u.data(), rest.data(), 16);
    return PointId::uuid(u);
  }
  return absl::DataLossError("malformed point key");
}

std::string encode_point_value(const PointRecord& record) {
  std::string out;
  out.reserve(1 + 4 + record.vector.size() * 4 + 4 + record.payload_json.size());
  out.push_back(static_cast<char>(kPointValueVersion));
  put_u32_le(out, static_cast<uint32_t>(record.vector.size()));
  // float32 is stored in the host's little-endian layout (x86-64 and arm64 are both LE).
  out.append(reinterpret_cast<const char*>(record.vector.data()), record.vector.size() * 4);
  put_u32_le(out, static_cast<uint32_t>(record.payload_json.size()));
  out.append(record.payload_json);
  return out;
}

absl::StatusOr<PointRecord> decode_point_value(const PointId& id, std::string_view value) {
  if (value.size() < 9) return absl::DataLossError("point record too short");
  if (static_cast<uint8_t>(value[0]) != kPointValueVersion) {
    return absl::DataLossError(
        absl::StrCat("point record has unknown version ", static_cast<int>(value[0])));
  }
  uint32_t dim = get_u32_le(value.substr(1));
  size_t vector_bytes = static_cast<size_t>(dim) * 4;
  if (value.size() < 5 + vector_bytes + 4) return absl::DataLossError("point record truncated");
  uint32_t payload_len = get_u32_le(value.substr(5 + vector_bytes));
  if (value.size() != 9 + vector_bytes + payload_len) {
    return absl::DataLossError("point record length mismatch");
  }
  PointRecord record;
  record.id = id;
  record.vector.resize(dim);
  std::memcpy(record.vector.data(), value.data() + 5, vector_bytes);
  record.payload_json.assign(value.substr(9 + vector_bytes));
  return record;
}

std::string encode_collection_value(const StoredCollection& c) {
  std::string out;
  out.push_back(static_cast<char>(kCollectionValueVersion));
  put_u32_le(out, c.id);
  put_u32_le(out, c.config.dim);
  out.push_back(static_cast<char>(c.config.metric));
  out.push_back(static_cast<char>(c.config.index_kind));
  put_u32_le(out, static_cast<uint32_t>(c.config.name.size()));
  out.append(c.config.name);
  put_u32_le(out, c.config.hnsw_m);
  put_u32_le(out, c.config.hnsw_ef_construction);
  put_u32_le(out, c.config.ivf_nlist);
  put_u32_le(out, c.config.segment_seal_points);
  put_u32_le(out, c.config.segment_rebuild_deleted_percent);
  put_u32_le(out, c.config.pq_m);
  put_u32_le(out, c.config.refine_factor);
  out.push_back(static_cast<char>(c.config.quantization));
  put_u32_le(out, c.config.shard_count);
  put_u32_le(out, c.config.replication_factor);
  return out;
}

absl::StatusOr<StoredCollection> decode_collection_value(std::string_view value) {
  if (value.size() < 15) return absl::DataLossError("collection record too short");
  const uint8_t version = static_cast<uint8_t>(value[0]);
  if (version < 1 || version > kCollectionValueVersion) {
    return absl::DataLossError("collection record has unknown version");
  }
  StoredCollection c;
  c.id = get_u32_le(value.substr(1));
  c.config.dim = get_u32_le(value.substr(5));
  uint8_t metric = static_cast<uint8_t>(value[9]);
  uint8_t kind = static_cast<uint8_t>(value[10]);
  const uint8_t max_kind = version == 1   ? 0
                           : version == 2 ? static_cast<uint8_t>(IndexKind::kHnsw)
                           : version == 3 ? static_cast<uint8_t>(IndexKind::kIvfFlat)
                                          : static_cast<uint8_t>(IndexKind::kIvfPq);
  if (metric > static_cast<uint8_t>(Metric::kDot) || kind > max_kind) {
    return absl::DataLossError("collection record has unknown metric or index kind");
  }
  c.config.metric = static_cast<Metric>(metric);
  c.config.index_kind = static_cast<IndexKind>(kind);
  uint32_t name_len = get_u32_le(value.substr(11));
  const size_t params_bytes = version == 1   ? 0
                              : version == 2 ? 8
                              : version == 3 ? 20
                              : version == 4 ? 29
                                             : 37;
  if (value.size() != 15 + static_cast<size_t>(name_len) + params_bytes) {
    return absl::DataLossError("collection record length mismatch");
  }
  c.config.name.assign(value.substr(15, name_len));
  if (version >= 2) {
    c.config.hnsw_m = get_u32_le(value.substr(15 + name_len));
    c.config.hnsw_ef_construction = get_u32_le(value.substr(19 + name_len));
  }
  if (version >= 3) {
    c.config.ivf_nlist = get_u32_le(value.substr(23 + name_len));
    c.config.segment_seal_points = get_u32_le(value.substr(27 + name_len));
    c.config.segment_rebuild_deleted_percent = get_u32_le(value.substr(31 + name_len));
  }
  if (version >= 4) {
    c.config.pq_m = get_u32_le(value.substr(35 + name_len));
    c.config.refine_factor = get_u32_le(value.substr(39 + name_len));
    const uint8_t quantization = static_cast<uint8_t>(value[43 + name_len]);
    if (quantization > static_cast<uint8_t>(Quantization::kSq8)) {
      return absl::DataLossError("collection record has unknown quantization");
    }
    c.config.quantization = static_cast<Quantization>(quantization);
  }
  if (version >= 5) {
    c.config.shard_count = get_u32_le(value.substr(44 + name_len));
    c.config.replication_factor = get_u32_le(value.substr(48 + name_len));
    if (c.config.shard_count < 1 || c.config.shard_count > kMaxShardCount) {
      return absl::DataLossError("collection record has a shard count out of range");
    }
  }
  return c;
}

}  // namespace meridian::storage
