// The stored form of one point (vector + payload) and of the keys that locate points and
// collections in LMDB. Pure encoding: no LMDB here. Layouts are described in docs/formats.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "schema/types.h"

namespace meridian::storage {

struct PointRecord {
  PointId id;
  std::vector<float> vector;
  std::string payload_json;  // a JSON object's text, or empty for no payload
  friend bool operator==(const PointRecord&, const PointRecord&) = default;
};

// Key of a point in the `points` database: collection id (4 bytes big-endian), then a kind
// byte (0 = number, 1 = UUID) and the id (8 bytes big-endian, or the 16 UUID bytes). Keys sort
// by collection, then numbers in numeric order, then UUIDs.
std::string encode_point_key(uint32_t collection_id, const PointId& id);
absl::StatusOr<PointId> decode_point_key(std::string_view key, uint32_t* collection_id);
// The 4-byte prefix shared by every point key of a collection.
std::string collection_key_prefix(uint32_t collection_id);

// Value of a point (before sealing): version byte, dim (u32 LE), dim floats (LE), payload
// length (u32 LE), payload bytes. The id is not repeated: it is in the key.
std::string encode_point_value(const PointRecord& record);
// DataLoss on a malformed value.
absl::StatusOr<PointRecord> decode_point_value(const PointId& id, std::string_view value);

// A stored collection: its settings plus the numeric id its point keys use. Ids are never
// reused, so a dropped-then-recreated collection can never see stale points.
struct StoredCollection {
  uint32_t id = 0;
  CollectionConfig config;
  friend bool operator==(const StoredCollection&, const StoredCollection&) = default;
};

std::string encode_collection_value(const StoredCollection& c);
absl::StatusOr<StoredCollection> decode_collection_value(std::string_view value);

}  // namespace meridian::storage
