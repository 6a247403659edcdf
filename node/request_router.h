// Requests on a collection turned into requests on its shards (docs/sharding.md): a write batch
// is split by shard_of() and each part is written to its shard replica; get, count, scroll and
// search fan out to every shard and their answers are merged (top-k by the metric's order).
// A one-shard collection passes straight through, its tokens and cursors unchanged.
//
// The router works on the shard replicas held here: a shard replica that is missing here answers
// Unavailable naming the shard. Sending the parts for other shards to the nodes of the region that
// hold them is the API server's job (api_forwarding.cc); reads take the set of shards to read.
//
// Thread safety: as Node's (it holds no state of its own).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "node/node.h"

namespace meridian::node {

// One shard replica's part of a write: what the write concern waits on.
struct ShardCommit {
  std::string replica;  // the local name of the shard replica
  uint64_t log_seq = 0;
};

struct RoutedWrite {
  uint32_t applied = 0;
  // One shard: the replica's version vector, as before sharding. Several: a composite token
  // (encode_shard_token) of the version vectors of the shards the write touched.
  std::string causal_token;
  std::vector<ShardCommit> commits;
};

// The composite causal token of a multi-shard collection: per shard, the version vector token
// of that shard's replica (docs/formats.md, "Sharded causal token").
struct ShardToken {
  uint32_t shard = 0;
  std::string token;
};
std::string encode_shard_token(const std::vector<ShardToken>& tokens);
// InvalidArgument for bytes that are not a composite token.
absl::StatusOr<std::vector<ShardToken>> decode_shard_token(std::string_view bytes);

class RequestRouter {
 public:
  // `node` must outlive the router.
  explicit RequestRouter(Node& node) : node_(node) {}

  // A multi-shard batch is not atomic across shards: each shard's part commits on its own (every
  // vector and payload is validated before the first part is written).
  absl::StatusOr<RoutedWrite> upsert(const std::string& collection,
                                     std::vector<storage::PointRecord> points);
  absl::StatusOr<RoutedWrite> remove(const std::string& collection, std::span<const PointId> ids);
  absl::StatusOr<RoutedWrite> set_payload(const std::string& collection,
                                          std::span<const PointId> ids,
                                          const std::string& payload_json);
  absl::StatusOr<RoutedWrite> overwrite_payload(const std::string& collection,
                                                std::span<const PointId> ids,
                                                const std::string& payload_json);
  absl::StatusOr<RoutedWrite> delete_payload_keys(const std::string& collection,
                                                  std::span<const PointId> ids,
                                                  const std::vector<std::string>& keys);

  // As Node's, for a token of this router's writes.
  absl::StatusOr<bool> token_satisfied(const std::string& collection, std::string_view token) const;
  absl::StatusOr<std::vector<std::optional<storage::PointRecord>>> get(
      const std::string& collection, std::span<const PointId> ids) const;
  // `shards`: the shards to read (nullopt: all of them).
  absl::StatusOr<uint64_t> count(const std::string& collection,
                                 const std::optional<std::vector<uint32_t>>& shards = {}) const;
  // Pages through shard 0 in id order, then shard 1, ...; a multi-shard cursor is the shard
  // number (u8) followed by that shard's cursor. With `only_shard`, the page stops at the end of
  // the cursor's shard (which must be that one).
  absl::StatusOr<storage::ScrollPage> scroll(const std::string& collection, std::string_view cursor,
                                             uint32_t limit,
                                             std::optional<uint32_t> only_shard = {}) const;
  absl::StatusOr<std::vector<std::vector<SearchHit>>> search(
      const std::string& collection, std::span<const float> queries, const SearchParams& params,
      const std::optional<std::vector<uint32_t>>& shards = {}) const;
  // Whether this node holds a replica of shard `shard` of `collection`.
  bool holds(const std::string& collection, uint32_t shard) const;
  // The collection's settings (NotFound when there is no such collection).
  absl::StatusOr<CollectionConfig> config_of(const std::string& collection) const;
  // The collection as a whole: settings under its own name, counts summed over its shard
  // replicas here, and a digest of their digests.
  absl::StatusOr<CollectionInfo> collection_info(const std::string& collection) const;
  absl::StatusOr<std::vector<CollectionInfo>> list_collections() const;

 private:
  // The local name of `shard`, Unavailable when this node does not hold it.
  absl::StatusOr<std::string> replica_of(const std::string& collection, uint32_t shard) const;
  // Splits `ids` by shard: for each shard, the positions in `ids` of its ids.
  static std::vector<std::vector<size_t>> split(std::span<const PointId> ids, uint32_t shards);
  // Runs `write` on each shard that has ids and combines the outcomes.
  template <typename Write>
  absl::StatusOr<RoutedWrite> write_ids(const std::string& collection, std::span<const PointId> ids,
                                        Write write);

  Node& node_;
};

// Combines the infos of a collection's shard replicas (shard order) into one.
// Checks every point of a batch for `config` (vector and payload): InvalidArgument naming the
// first bad one.
absl::Status validate_points(const CollectionConfig& config,
                             const std::vector<storage::PointRecord>& points);

// Sorts the hits of each query by `metric`'s order (ties by id) and keeps the first `k`.
void merge_hits(Metric metric, uint32_t k, std::vector<std::vector<SearchHit>>& hits);

CollectionInfo merge_shard_infos(const std::string& collection,
                                 const std::vector<CollectionInfo>& shards);

}  // namespace meridian::node
