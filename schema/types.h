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
enum class IndexKind : uint8_t { kFlat = 0, kHnsw = 1, kIvfFlat = 2, kIvfPq = 3 };
// How the sealed segments of an hnsw or ivf_flat collection store vectors: float32, or one byte
// per dimension (SQ8) with the float32 vectors kept for re-ranking.
enum class Quantization : uint8_t { kNone = 0, kSq8 = 1 };
inline constexpr uint32_t kDefaultHnswM = 16;
inline constexpr uint32_t kDefaultHnswEfConstruction = 200;
inline constexpr uint32_t kDefaultHnswEf = 64;
inline constexpr uint32_t kMaxHnswEf = 4096;
// IVF: lists per sealed segment (0 = auto) and lists scanned per search (0 = default).
inline constexpr uint32_t kMaxIvfNlist = 65536;
inline constexpr uint32_t kMaxIvfNprobe = 65536;
// IVF-PQ: code bytes per vector (0 = auto, see ivf_pq_m_for) and at most this many.
inline constexpr uint32_t kMaxIvfPqM = 4096;
// Re-ranking of approximate candidates with float32 vectors (ivf_pq, and sq8 quantization):
// each search re-scores its best refine_factor * k candidates exactly. 0 = the default of the
// index kind: kDefaultIvfPqRefineFactor for ivf_pq, kDefaultSq8RefineFactor under sq8.
inline constexpr uint32_t kMaxRefineFactor = 1024;
inline constexpr uint32_t kDefaultIvfPqRefineFactor = 4;
inline constexpr uint32_t kDefaultSq8RefineFactor = 2;
// Segments (docs/segments.md): the growing segment of an approximate collection is sealed at
// this many points; a sealed segment is rebuilt when more than this percentage is deleted.
inline constexpr uint32_t kDefaultSegmentSealPoints = 20000;
inline constexpr uint32_t kMinSegmentSealPoints = 100;
inline constexpr uint32_t kMaxSegmentSealPoints = 10000000;
inline constexpr uint32_t kDefaultSegmentRebuildDeletedPercent = 20;
// Sharding inside a region (docs/sharding.md): a collection's points are split into
// shard_count shards by a stable hash of the point id; each region places every shard on
// replication_factor of its nodes (0 = on every node of the region).
inline constexpr uint32_t kMaxShardCount = 256;
inline constexpr uint32_t kMaxReplicationFactor = 64;

std::string_view metric_name(Metric m);
absl::StatusOr<Metric> parse_metric(std::string_view name);
std::string_view index_kind_name(IndexKind k);
absl::StatusOr<IndexKind> parse_index_kind(std::string_view name);
std::string_view quantization_name(Quantization q);
absl::StatusOr<Quantization> parse_quantization(std::string_view name);

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
  uint32_t pq_m = 0;           // ivf_pq only: code bytes per vector, 1..min(dim, 4096); 0 = auto
  uint32_t refine_factor = 0;  // ivf_pq, or quantization sq8: 1..1024; 0 = kind's default
  Quantization quantization = Quantization::kNone;  // hnsw and ivf_flat only
  uint32_t shard_count = 1;                         // 1..kMaxShardCount
  uint32_t replication_factor = 0;  // replicas of each shard per region; 0 = every node
  friend bool operator==(const CollectionConfig&, const CollectionConfig&) = default;
};

// IVF-PQ code bytes of a `dim`-dimensional collection: `configured` when non-zero, else dim / 4
// rounded down to a multiple of 4 when dim >= 16 (byte-aligned sub-spaces), at least 1.
uint32_t ivf_pq_m_for(uint32_t configured, uint32_t dim);
// The refine factor a collection's sealed segments use: `refine_factor`, or the kind's default
// (0 when the collection keeps no float32 vectors for re-ranking: flat, hnsw/ivf_flat without sq8).
uint32_t effective_refine_factor(const CollectionConfig& config);

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
// The local name of shard `shard` of `collection` on a node: shard 0 keeps the collection's name
// (so a one-shard collection is stored exactly as before sharding), shard s > 0 is
// "<collection>@<s>", a name no client can create (docs/sharding.md).
std::string shard_replica_name(std::string_view collection, uint32_t shard);
struct ShardReplicaName {
  std::string collection;
  uint32_t shard = 0;
};
// The inverse of shard_replica_name; InvalidArgument when `local_name` is neither a collection
// name nor "<collection name>@<shard 1..255>" (no leading zeros).
absl::StatusOr<ShardReplicaName> parse_shard_replica_name(std::string_view local_name);

// OK when the config is usable for a new collection.
absl::Status validate_collection_config(const CollectionConfig& config);

}  // namespace meridian
