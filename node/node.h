// The single-node database: collections persisted in storage::Store, each with an in-memory
// exact index (index::FlatIndex) rebuilt from the stored points at start. Validates every
// request before it touches storage, so bad input changes nothing.
//
// Thread safety: all methods are safe to call concurrently (one mutex; searches of one node
// run one at a time for now). A write is durable (LMDB commit) before it is visible to search.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crdt/hlc.h"
#include "node/collection_index.h"
#include "node/collection_replica.h"
#include "node/payload_filter.h"
#include "storage/store.h"

namespace meridian::node {

struct CollectionInfo {
  storage::StoredCollection stored;
  uint64_t point_count = 0;
  uint64_t stored_bytes = 0;
  std::string digest;  // hex of the canonical digest of the collection's CRDT state
};

// The outcome of a write: how many points it changed and the causal token after it.
struct WriteOutcome {
  uint32_t applied = 0;
  std::string causal_token;  // encoded version vector of the collection's replica
};

struct NodeOptions {
  // Mints replica ids (random, non-zero, never reused). Default: libsodium randombytes.
  std::function<uint64_t()> mint_replica_id;
  // Wall-clock milliseconds for the hybrid logical clocks. Default: the system clock.
  std::function<uint64_t()> physical_clock_ms;
  crdt::HlcOptions hlc;
  // How long a read carrying a consistency token waits for this node to catch up.
  absl::Duration consistency_wait = absl::Seconds(5);
  // Worker threads that build a collection's HNSW index at start.
  size_t index_build_threads = 2;
};

struct SearchHit {
  PointId id;
  float score = 0;            // l2: Euclidean distance; cosine: similarity; dot: inner product
  std::vector<float> vector;  // filled when asked for
  std::string payload_json;   // filled when asked for
};

struct SearchParams {
  uint32_t k = 10;
  bool with_payload = false;
  bool with_vector = false;
  uint32_t ef = 0;  // hnsw beam width; 0 = the default
  // A payload filter as JSON text (syntax in payload_filter.h); "" = no filter. Every result
  // satisfies it; fewer than k results come back when fewer points match.
  std::string filter_json = {};
};

struct NodeStats {
  uint32_t collections = 0;
  uint64_t points = 0;
  // Stored records that failed to open (tampered, corrupt, or under an unknown key): at start
  // they are skipped (and logged); at run time the request touching them fails with DataLoss.
  uint64_t integrity_failures = 0;
};

// The DeadlineExceeded status of a read whose consistency token was not reached in `waited`.
absl::Status consistency_deadline_exceeded(absl::Duration waited);

class Node {
 public:
  // Loads every collection of `store` (its CRDT replica from `crdt` + `causal`, its index from
  // `points`). `store` must outlive the node. Unset options take their defaults.
  static absl::StatusOr<std::unique_ptr<Node>> open(storage::Store& store,
                                                    NodeOptions options = {});
  ~Node();

  absl::StatusOr<CollectionInfo> create_collection(const CollectionConfig& config);
  absl::StatusOr<std::vector<CollectionInfo>> list_collections() const;
  absl::StatusOr<CollectionInfo> collection_info(const std::string& name) const;
  absl::Status drop_collection(const std::string& name);

  // Every write goes through the collection's CRDT replica and is durable (one LMDB commit of
  // CRDT state, delta log and the `points` view) before it is visible; each returns the causal
  // token after it.
  //
  // Validates then durably writes the batch; `applied` is the number of distinct ids written.
  // Payloads must be empty or a JSON object; their top-level fields become per-field registers.
  absl::StatusOr<WriteOutcome> upsert(const std::string& collection,
                                      std::vector<storage::PointRecord> points);
  // `applied`: how many of `ids` existed and were deleted (absent ids are skipped).
  absl::StatusOr<WriteOutcome> remove(const std::string& collection, std::span<const PointId> ids);
  // Payload updates of existing points (absent ids are skipped, not counted). `payload_json`
  // must be a JSON object. set_payload merges its fields into each point's payload;
  // overwrite_payload replaces the whole payload; delete_payload_keys removes the named fields.
  absl::StatusOr<WriteOutcome> set_payload(const std::string& collection,
                                           std::span<const PointId> ids,
                                           const std::string& payload_json);
  absl::StatusOr<WriteOutcome> overwrite_payload(const std::string& collection,
                                                 std::span<const PointId> ids,
                                                 const std::string& payload_json);
  absl::StatusOr<WriteOutcome> delete_payload_keys(const std::string& collection,
                                                   std::span<const PointId> ids,
                                                   const std::vector<std::string>& keys);

  // Consistency tokens. token_satisfied: whether the collection's replica already includes every
  // write the token names (InvalidArgument for a malformed token, NotFound for no collection).
  // await_token: blocks the calling thread until it does, or fails with DeadlineExceeded after
  // `timeout` (options().consistency_wait when nullopt). Event-loop callers poll
  // token_satisfied instead of blocking.
  absl::StatusOr<bool> token_satisfied(const std::string& collection, std::string_view token) const;
  absl::Status await_token(const std::string& collection, std::string_view token,
                           std::optional<absl::Duration> timeout = std::nullopt) const;
  const NodeOptions& options() const { return options_; }
  absl::StatusOr<std::vector<std::optional<storage::PointRecord>>> get(
      const std::string& collection, std::span<const PointId> ids) const;
  absl::StatusOr<uint64_t> count(const std::string& collection) const;
  absl::StatusOr<storage::ScrollPage> scroll(const std::string& collection, std::string_view cursor,
                                             uint32_t limit) const;
  // Top-k for each of the row-major `queries` (exact on flat collections, approximate on HNSW
  // ones), restricted to the points matching params.filter_json when set; results nearest first.
  // A filter is applied during the HNSW traversal; when it matches few points
  // (prefer_exact_scan() in filtered_scan.h) those points are scanned exactly instead.
  // InvalidArgument for a malformed filter, as for other bad input.
  absl::StatusOr<std::vector<std::vector<SearchHit>>> search(const std::string& collection,
                                                             std::span<const float> queries,
                                                             const SearchParams& params) const;

  NodeStats stats() const;
  const std::string& node_id() const { return store_.node_id(); }

 private:
  struct Collection;
  Node(storage::Store& store, NodeOptions options);
  // Applies a committed replica write to the in-memory index.
  absl::Status apply_to_index(Collection& c, const ReplicaWrite& write);
  absl::StatusOr<WriteOutcome> update_payload(const std::string& collection,
                                              std::span<const PointId> ids,
                                              const std::string& payload_json, PayloadUpdate how);
  // The top-k labels among the points of `c` matching `filter` (the planner's choice of a
  // filtered HNSW traversal or an exact scan of the matching points).
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> filtered_neighbours(
      const Collection& c, std::span<const float> queries, const SearchParams& params,
      const PayloadFilter& filter) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status load_collection(const storage::StoredCollection& stored)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Collection*> find(const std::string& name) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static CollectionInfo info_of(const Collection& c);

  // Counts DataLoss/FailedPrecondition from stored records; passes `result` through.
  template <typename T>
  T count_integrity(T result) const;

  storage::Store& store_;
  NodeOptions options_;
  mutable std::atomic<uint64_t> integrity_failures_{0};
  mutable absl::Mutex mu_;
  absl::btree_map<std::string, std::unique_ptr<Collection>> collections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace meridian::node
