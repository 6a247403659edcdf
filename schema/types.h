// Plain C++ value types shared by every layer (storage, node, client, cli): point ids,
// metrics and collection settings. No Cap'n Proto here; schema/convert.h maps to the wire.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"

namespace meridian {

// A UUID as its 16 bytes in RFC 4122 order.
using Uuid = std::array<uint8_t, 16>;

// A point's identity: an unsigned 64-bit number or a UUID. Numbers order before UUIDs.
class PointId {
 public:
  PointId() = default;
  static PointId number(uint64_t n) { return PointId(n); }
  static PointId uuid(const Uuid& u) { return PointId(u); }

  // Parses "123" as a number and "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as a UUID.
  static absl::StatusOr<PointId> parse(std::string_view text);

  bool is_number() const { return std::holds_alternative<uint64_t>(value_); }
  uint64_t as_number() const { return std::get<uint64_t>(value_); }
  const Uuid& as_uuid() const { return std::get<Uuid>(value_); }

  // "123" or the canonical lower-case hyphenated UUID.
  std::string to_string() const;

  friend auto operator<=>(const PointId&, const PointId&) = default;
  friend bool operator==(const PointId&, const PointId&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const PointId& id) {
    if (id.is_number()) return H::combine(std::move(h), uint8_t{0}, id.as_number());
    return H::combine_contiguous(H::combine(std::move(h), uint8_t{1}), id.as_uuid().data(), 16);
  }

 private:
  explicit PointId(uint64_t n) : value_(n) {}
  explicit PointId(const Uuid& u) : value_(u) {}
  std::variant<uint64_t, Uuid> value_{uint64_t{0}};
};

enum class Metric : uint8_t { kL2 = 0, kCosine = 1, kDot = 2 };
enum class IndexKind : uint8_t { kFlat = 0, kHnsw = 1, kIvfFlat = 2 };
inline constexpr uint32_t kDefaultHnswM = 16;
inline constexpr uint32_t kDefaultHnswEfConstruction = 200;
inline constexpr uint32_t kDefaultHnswEf = 64;
inline constexpr uint32_t kMaxHnswEf = 4096;
// IVF: lists per sealed segment (0 = auto) and lists scanned per search (0 = default).
inline constexpr uint32_t kMaxIvfNlist = 65536;
inline constexpr uint32_t kMaxIvfNprobe = 65536;
// Segments (docs/segments.md): the growing segment of an approximate collection is sealed at
// this many points; a sealed segment is rebuilt when more than this percentage is deleted.
inline constexpr uint32_t kDefaultSegmentSealPoints = 20000;
inline constexpr uint32_t kMinSegmentSealPoints = 100;
inline constexpr uint32_t kMaxSegmentSealPoints = 10000000;
inline constexpr uint32_t kDefaultSegmentRebuildDeletedPercent = 20;

std::string_view metric_name(Metric m);
absl::StatusOr<Metric> parse_metric(std::string_view name);
std::string_view index_kind_name(IndexKind k);
absl::StatusOr<IndexKind> parse_index_kind(std::string_view name);

struct CollectionConfig {
  std::string name;
  uint32_t dim = 0;
  Metric metric = Metric::kL2;
  IndexKind index_kind = IndexKind::kFlat;
  uint32_t hnsw_m = kDefaultHnswM;                             // hnsw only
  uint32_t hnsw_ef_construction = kDefaultHnswEfConstruction;  // hnsw only
  uint32_t ivf_nlist = 0;                                      // ivf_flat only; 0 = auto
  uint32_t segment_seal_points = kDefaultSegmentSealPoints;    // approximate kinds
  uint32_t segment_rebuild_deleted_percent = kDefaultSegmentRebuildDeletedPercent;
  friend bool operator==(const CollectionConfig&, const CollectionConfig&) = default;
};

// Limits every layer enforces the same way.
inline constexpr uint32_t kMaxDim = 65536;
inline constexpr uint32_t kMaxBatchPoints = 10000;
inline constexpr uint32_t kMaxTopK = 10000;
inline constexpr uint32_t kMaxQueriesPerSearch = 10000;
// queries x k of one search request; keeps every reply well inside the RPC message limit.
inline constexpr uint64_t kMaxResultsPerSearch = 1000000;
inline constexpr uint32_t kMaxScrollLimit = 10000;
inline constexpr size_t kMaxPayloadBytes = 1 << 20;
inline constexpr size_t kMaxCollectionNameLength = 128;

// OK when `name` is 1..128 chars of [A-Za-z0-9_-]; InvalidArgument otherwise.
absl::Status validate_collection_name(std::string_view name);
// OK when the config is usable for a new collection.
absl::Status validate_collection_config(const CollectionConfig& config);

}  // namespace meridian
