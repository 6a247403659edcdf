// The single-node database: collections persisted in storage::Store, each with an in-memory
// segmented index (collection_index.h: exact, HNSW or IVF-Flat) loaded from its segment files
// and the stored points at start. Validates every request before it touches storage, so bad
// input changes nothing.
//
// Thread safety: all methods are safe to call concurrently (one mutex; searches of one node
// run one at a time for now). A write is durable (LMDB commit) before it is visible to search.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
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
#include "crdt/point_set.h"
#include "crypto/key_ring.h"
#include "node/annotated_lock.h"
#include "node/cluster_membership.h"
#include "node/collection_catalog.h"
#include "node/collection_index.h"
#include "node/collection_replica.h"
#include "node/payload_filter.h"
#include "storage/store.h"

namespace meridian::node {

struct CollectionInfo {
  storage::StoredCollection stored;
  uint64_t point_count = 0;
  uint64_t stored_bytes = 0;
  std::string digest;     // hex of the canonical digest of the collection's CRDT state
  SegmentStats segments;  // this node's index segments of the collection
};

// The outcome of a write: how many points it changed and the causal token after it.
struct WriteOutcome {
  uint32_t applied = 0;
  std::string causal_token;  // encoded version vector of the collection's replica
  uint64_t log_seq = 0;      // seq of the write's delta-log entry (0: it changed nothing)
};

struct NodeOptions {
  // Mints replica ids (random, non-zero, never reused). Default: libsodium randombytes.
  std::function<uint64_t()> mint_replica_id;
  // Wall-clock milliseconds for the hybrid logical clocks. Default: the system clock.
  std::function<uint64_t()> physical_clock_ms;
  crdt::HlcOptions hlc;
  // How long a read carrying a consistency token waits for this node to catch up.
  absl::Duration consistency_wait = absl::Seconds(5);
  // Worker threads of one HNSW build (at start and in a collection's background builder).
  size_t index_build_threads = 2;
  // Where sealed index segments are persisted, one directory per collection (the daemon uses
  // <data dir>/segments); empty: not persisted, and every start rebuilds them from the points.
  std::filesystem::path segment_dir;
  // The key ring that seals segment files (the records sealer's current ring, so key rotation
  // applies to new files); empty or returning null: plaintext files with a checksum
  // (--insecure-no-encryption).
  std::function<std::shared_ptr<const crypto::KeyRing>()> segment_keys;
  // Test hook: runs on a collection's builder thread after a segment is built and before it is
  // published (collection_index.h). May be empty.
  std::function<void(const std::string& collection)> before_segment_publish;
  // The region this node serves (recorded in the collection catalog's creates).
  std::string region = "local";
  // Called (under the node's lock, on the calling thread) just before a local collection is
  // removed, by a drop through the API or by the catalog; the replication layer stops the
  // collection's replica there. Must not call back into the node.
  std::function<void(const std::string& collection)> before_collection_drop;
  // Keep each collection's delta log until the replication layer compacts it (set on a node whose
  // collections replicate; see ReplicaEnv::retain_delta_log). False: a single node, whose log
  // entries are dropped as soon as they are committed.
  bool retain_delta_log = false;
  // Called after every local write (upsert, remove, payload updates) that appended a delta-log
  // entry, with the collection's name and the entry's seq, so the replication layer can stream it
  // (ShardHost::on_local_commit). Runs on the writer's thread after the node's lock is released;
  // it must not block. Writes that changed nothing do not call it. May be empty.
  std::function<void(const std::string& collection, uint64_t seq)> on_local_commit;
  // Placement of collections with a replication factor (docs/sharding.md): true on a node that
  // joins a cluster through seeds, which creates no new shard replica of such a collection until
  // the replication layer tells it its region's members (set_region_members); a node that has
  // not heard gossip yet must not take shards it may not own. False: until told otherwise the
  // node is its region's only member and owns every shard.
  bool await_placement = false;
  // Whether flat collections run batched exact searches on the GPU (the daemon resolves --gpu
  // into this at start, see gpu_mode.h). Default: CPU only.
  GpuSearchPolicy gpu;
};

// A shard replica held here of a collection with a replication factor whose placement over the
// region's known members no longer makes this node an owner (docs/sharding.md, "Moving shards").
struct UnownedReplica {
  std::string local_name;  // shard_replica_name(collection, shard)
  std::string collection;
  uint32_t shard = 0;
  crdt::ReplicaId replica_id = 0;
  std::vector<std::string> owners;  // the shard's owners in the region (node ids)
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
  uint32_t nprobe = 0;  // ivf_flat / ivf_pq lists scanned per sealed segment; 0 = the default
};

struct NodeStats {
  uint32_t collections = 0;
  uint64_t points = 0;
  // Stored records that failed to open (tampered, corrupt, or under an unknown key): at start
  // they are skipped (and logged); at run time the request touching them fails with DataLoss.
  uint64_t integrity_failures = 0;
};

// `config` (of a collection) as the settings of its local shard replica `shard`.
CollectionConfig shard_replica_config(const CollectionConfig& config, uint32_t shard);

// The DeadlineExceeded status of a read whose consistency token was not reached in `waited`.
absl::Status consistency_deadline_exceeded(absl::Duration waited);

class Node {
 public:
  // Loads every collection of `store` (its CRDT replica from `crdt` + `causal`, its index from
  // `points`). `store` must outlive the node. Unset options take their defaults.
  static absl::StatusOr<std::unique_ptr<Node>> open(storage::Store& store,
                                                    NodeOptions options = {});
  ~Node();

  // Creates the collection in the catalog and its shard replicas here (every shard: see
  // docs/sharding.md). The other methods take a *local* collection name: a collection's name is
  // that of its shard 0; shard s > 0 is held as "<name>@<s>" (shard_replica_name());
  // node/request_router.h turns requests on a collection into requests on its shards.
  absl::StatusOr<CollectionInfo> create_collection(const CollectionConfig& config);
  // The settings of collection `name` (its catalog winner; NotFound when there is none).
  absl::StatusOr<CollectionConfig> collection_config(const std::string& name) const;
  absl::StatusOr<std::vector<CollectionInfo>> list_collections() const;
  absl::StatusOr<CollectionInfo> collection_info(const std::string& name) const;
  // Drops the collection (in the catalog) and every local shard replica of it.
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
  // Top-k for each of the row-major `queries` (exact on flat collections and on the growing
  // segment of the others, approximate on HNSW and IVF-Flat sealed segments), restricted to the
  // points matching params.filter_json when set; results nearest first. A filter is applied
  // during the HNSW traversal and the IVF list scans; when it matches few points
  // (prefer_exact_scan() and prefer_exact_scan_ivf() in filtered_scan.h) those points are scanned
  // exactly instead. InvalidArgument for a malformed filter, as for other bad input.
  absl::StatusOr<std::vector<std::vector<SearchHit>>> search(const std::string& collection,
                                                             std::span<const float> queries,
                                                             const SearchParams& params) const;

  NodeStats stats() const;
  const std::string& node_id() const { return store_.node_id(); }

  // Replication (node/collection_shard_store.h adapts these to replication::ShardStore).
  //
  // Durably joins `delta`, received from peer replica `peer`, into the collection's replica (see
  // CollectionReplica::apply_remote: state, view, log entry and joined-through record in one
  // transaction), then updates the in-memory index and payload index as local writes do.
  // InvalidArgument (nothing applied) for a delta holding a vector that does not fit the
  // collection, a malformed id or payload; NotFound when the collection does not exist, or when
  // `expected_replica` is non-zero and the collection's replica has another id (the collection was
  // dropped and re-created). Any other error leaves nothing applied, in memory or on disk.
  absl::Status apply_remote(const std::string& collection, crdt::ReplicaId peer,
                            const crdt::PointSet& delta, std::optional<uint64_t> peer_seq,
                            crdt::ReplicaId expected_replica = 0);
  // The replica id of the collection's CRDT replica (NotFound when absent).
  absl::StatusOr<crdt::ReplicaId> replica_id(const std::string& collection) const;
  // The highest seq of `peer`'s delta log durably joined into the collection (0 when none).
  absl::StatusOr<uint64_t> joined_through(const std::string& collection,
                                          crdt::ReplicaId peer) const;
  // The collection's replica, for the replication layer to read its state(), log() and
  // joined_through() (and to register peers in its log) on the replication thread. Shared: a
  // holder keeps the object valid after the collection is dropped (it is then detached, and
  // apply_remote with its id as `expected_replica` fails). Writes go through the node only.
  // These reads take no lock: the caller must keep writes to the collection off other threads
  // while it reads (see collection_shard_store.h).
  absl::StatusOr<std::shared_ptr<CollectionReplica>> replica(const std::string& collection) const;
  // Removes from the store the log entries the collection's replica compacted away (see
  // CollectionReplica::trim_log). NotFound as for apply_remote. Returns how many were removed.
  absl::StatusOr<uint64_t> trim_replication_log(const std::string& collection,
                                                crdt::ReplicaId expected_replica = 0);

  // The cluster-wide collection catalog (collection_catalog.h). create_collection and
  // drop_collection record their change there; merge_catalog joins a peer's entries and then
  // creates, relabels or drops local collections so that they match the catalog's winners.
  // Returns one line per local change (for the log).
  std::vector<CatalogEntry> catalog_entries() const;
  // The known members of this node's region (node ids, down ones included, this node among
  // them): a shard replica of a collection with a replication factor is created here only when
  // rendezvous placement over them makes this node an owner. A change recomputes placement and
  // creates the newly owned shard replicas (empty, filled by replication); replicas this node no
  // longer owns are kept here until handed off (unowned_replicas, retire_replica). Returns one
  // line per local change.
  absl::StatusOr<std::vector<std::string>> set_region_members(std::vector<std::string> node_ids);
  // Whether this node owns shard `shard` of a collection with `config` (always, for replication
  // factor 0).
  bool owns_shard(const CollectionConfig& config, uint32_t shard) const;
  // The local shard replicas this node holds but no longer owns (empty until the region's
  // members are known): what it hands off to their owners.
  std::vector<UnownedReplica> unowned_replicas() const;
  // Retires the local shard replica `name` once its owners hold everything it has: under the lock
  // that commits writes, checks that it is still replica `expected_replica`, still not owned
  // here, and that `still_safe` (called with the replica under the lock, so nothing commits
  // meanwhile; it must not call back into the node) agrees; then removes it like a dropped
  // collection (records, log, segment files; the before_collection_drop hook runs) without
  // touching the catalog. Returns whether it was removed (false: `still_safe` said no, or it is
  // owned again; nothing changed). NotFound when there is no such replica.
  absl::StatusOr<bool> retire_replica(
      const std::string& name, crdt::ReplicaId expected_replica,
      const std::function<bool(const CollectionReplica& replica)>& still_safe);
  absl::StatusOr<std::vector<std::string>> merge_catalog(const std::vector<CatalogEntry>& entries);
  // Creates of `collection` that lost to a create with other settings (empty: no conflict).
  std::vector<CatalogEntry> catalog_conflicts(const std::string& collection) const;
  // Every local collection replica: its name, catalog incarnation and crdt replica id.
  std::vector<ReplicaAdvert> local_replicas() const;

 private:
  struct Collection;
  Node(storage::Store& store, NodeOptions options);
  // Applies a committed replica write to the in-memory index.
  absl::Status apply_to_index(Collection& c, const ReplicaWrite& write);
  // The end of every local write: applies `write` to the index, releases `lock` and reports the
  // write's log entry to options_.on_local_commit.
  absl::StatusOr<WriteOutcome> finish_local_write(AnnotatedReleasableWriterLock& lock,
                                                  Collection& c, const std::string& collection,
                                                  absl::StatusOr<ReplicaWrite> write);
  // The collection `name` whose replica is `expected_replica` (any when 0); NotFound otherwise.
  absl::StatusOr<Collection*> find_replica(const std::string& name,
                                           crdt::ReplicaId expected_replica) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<WriteOutcome> update_payload(const std::string& collection,
                                              std::span<const PointId> ids,
                                              const std::string& payload_json, PayloadUpdate how);
  // The top-k labels among the points of `c` matching `filter` (the planner's choice of a
  // filtered HNSW traversal or an exact scan of the matching points).
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> filtered_neighbours(
      const Collection& c, std::span<const float> queries, const SearchParams& params,
      const PayloadFilter& filter) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status load_collection(const storage::StoredCollection& stored)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Collection*> find(const std::string& name) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static CollectionInfo info_of(const Collection& c);
  // Catalog glue (node_catalog.cc).
  absl::Status load_catalog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status persist_catalog() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the local collections match the catalog's winners.
  absl::StatusOr<std::vector<std::string>> reconcile_catalog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A fresh, empty local collection / removal of one (storage and memory), without the catalog.
  absl::Status create_local(const CollectionConfig& config) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool owns_shard_locked(const CollectionConfig& config, uint32_t shard) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status drop_local(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The local names of the shard replicas of `collection` held here.
  std::vector<std::string> local_shards_of(const std::string& collection) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // REQUIRES: a local collection `name` exists.
  const CollectionConfig& local_config(const std::string& name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Counts DataLoss/FailedPrecondition from stored records; passes `result` through.
  template <typename T>
  T count_integrity(T result) const;

  storage::Store& store_;
  NodeOptions options_;
  mutable std::atomic<uint64_t> integrity_failures_{0};
  // Always taken through the Annotated*Lock types (annotated_lock.h), so ThreadSanitizer sees it.
  // Searches take it shared; writes, creates and drops exclusively.
  mutable absl::Mutex mu_;
  absl::btree_map<std::string, std::unique_ptr<Collection>> collections_ ABSL_GUARDED_BY(mu_);
  CollectionCatalog catalog_ ABSL_GUARDED_BY(mu_);
  // Local collection name -> the catalog incarnation its data belongs to.
  std::map<std::string, uint64_t> bindings_ ABSL_GUARDED_BY(mu_);
  // Sorted; unset until set_region_members (see NodeOptions::await_placement).
  std::optional<std::vector<std::string>> region_members_ ABSL_GUARDED_BY(mu_);
};

}  // namespace meridian::node
