// A node's durable store: one LMDB environment holding collections, their points (the
// materialised view), and their CRDT state (per-id slices, causal record, delta log, and how far
// each peer replica's log is joined), every value sealed through crypto::RecordSealer. The only
// place in Meridian that opens LMDB.
//
// Thread safety: all methods may be called from any thread. Write transactions are
// serialised by LMDB; reads run in their own read-only snapshots.
// Durability: a write method returns OK only after its transaction committed (fsync).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/record_sealer.h"
#include "schema/types.h"
#include "storage/causal_record.h"
#include "storage/point_record.h"

namespace meridian::storage {

struct StoreOptions {
  // The largest the LMDB file may grow to. Address space is reserved, disk is used only as
  // data is written. Default 256 GiB.
  size_t map_size_bytes = size_t{256} << 30;
  // The identity recorded when the directory is new (the caller mints it, so that nothing
  // below node/ draws randomness). Ignored when the store already has one.
  std::string node_id_if_new;
};

struct PutResult {
  uint32_t inserted = 0;
  uint32_t replaced = 0;
  int64_t stored_bytes_delta = 0;  // change of the collection's sealed record bytes
};

struct DeleteResult {
  std::vector<bool> deleted;  // per requested id: whether it existed
  uint32_t deleted_count = 0;
  int64_t stored_bytes_delta = 0;
};

// One write through the CRDT, committed by Store::commit_crdt_write in a single transaction.
struct CrdtWrite {
  // Per point id: its sealed CRDT slice to store, or nullopt to erase it (the id holds nothing).
  std::vector<std::pair<PointId, std::optional<std::string>>> slices;
  // The collection's causal record after the write.
  CausalRecord causal;
  // The write's delta-log entry (skipped when log_seq is 0), then compaction: every entry of the
  // collection with seq <= log_compact_through is removed (the new entry too, when covered).
  uint64_t log_seq = 0;
  std::string log_delta;
  uint64_t log_compact_through = 0;
  // A delta received from a peer replica: the durable record that every delta of `peer`'s log
  // with seq <= `through_seq` is joined here (replaces the previous record of that peer).
  struct JoinedThrough {
    uint64_t peer = 0;  // the peer's replica id
    uint64_t through_seq = 0;
  };
  std::optional<JoinedThrough> joined_through;
  // The materialised view in `points`: winners to put, ids that no longer exist to remove.
  std::vector<PointRecord> put_points;
  std::vector<PointId> delete_points;
};

struct CrdtWriteResult {
  int64_t stored_bytes_delta = 0;  // change of the collection's sealed `points` bytes
};

struct ScrollPage {
  std::vector<PointRecord> points;
  std::string next_cursor;  // opaque; empty at the end
};

class Store {
 public:
  // Opens (creating when absent) the store in `dir`. `sealer` must outlive the store.
  static absl::StatusOr<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                                     const crypto::RecordSealer& sealer,
                                                     const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // This node's identity, recorded on the first open of the directory.
  const std::string& node_id() const { return node_id_; }

  // Node-level records of the meta database outside the collection records (e.g. the
  // collection catalog), sealed like every value. `key` must not start with "collection/".
  // read_meta: nullopt when absent; DataLoss when the value does not open.
  absl::StatusOr<std::optional<std::string>> read_meta(std::string_view key) const;
  absl::Status write_meta(std::string_view key, std::string_view value);

  absl::StatusOr<std::vector<StoredCollection>> list_collections() const;
  // AlreadyExists when a collection of that name exists.
  absl::StatusOr<StoredCollection> create_collection(const CollectionConfig& config);
  // Removes the collection, its points and its CRDT records (slices, causal record, delta log,
  // joined-through records) in one transaction. NotFound when absent.
  absl::Status drop_collection(const std::string& name);

  // Inserts or replaces `points` atomically. Later duplicates of an id in one batch win.
  absl::StatusOr<PutResult> put_points(uint32_t collection_id, std::span<const PointRecord> points);
  // Deletes the given ids atomically; absent ids are reported, not an error.
  absl::StatusOr<DeleteResult> delete_points(uint32_t collection_id, std::span<const PointId> ids);
  // One entry per id, nullopt where the point does not exist.
  absl::StatusOr<std::vector<std::optional<PointRecord>>> get_points(
      uint32_t collection_id, std::span<const PointId> ids) const;
  // Up to `limit` points in id order, starting at `cursor` (empty = the first point).
  // InvalidArgument for a cursor this store did not produce.
  absl::StatusOr<ScrollPage> scroll(uint32_t collection_id, std::string_view cursor,
                                    uint32_t limit) const;

  // Calls `fn(record, sealed_bytes)` for every point of the collection in id order; stops at
  // the first non-OK status from `fn` or from decoding and returns it.
  // When `on_corrupt` is given, a record that fails to open (DataLoss or an unknown key) is
  // reported to it and skipped instead of ending the scan.
  using PointVisitor = std::function<absl::Status(PointRecord&& record, size_t sealed_bytes)>;
  using CorruptVisitor = std::function<void(const absl::Status& error)>;
  absl::Status for_each_point(uint32_t collection_id, const PointVisitor& fn,
                              const CorruptVisitor& on_corrupt = nullptr) const;

  // Commits `write` to `crdt`, `causal`, `log`, `joined` and `points` in one transaction: all of it
  // or, on any error (sealing included), none of it.
  absl::StatusOr<CrdtWriteResult> commit_crdt_write(uint32_t collection_id, const CrdtWrite& write);
  // The collection's causal record; nullopt when it has none (a collection written before the
  // CRDT, or a fresh one). DataLoss (or FailedPrecondition for an unknown key) when it fails to
  // open.
  absl::StatusOr<std::optional<CausalRecord>> read_causal(uint32_t collection_id) const;
  // Calls `fn(id, slice_bytes)` for every CRDT slice of the collection in id order. A slice
  // that fails to open goes to `on_corrupt` (when given) and is skipped; else the scan stops.
  using SliceVisitor = std::function<absl::Status(const PointId& id, std::string&& slice)>;
  absl::Status for_each_crdt_slice(uint32_t collection_id, const SliceVisitor& fn,
                                   const CorruptVisitor& on_corrupt = nullptr) const;
  // Number of delta-log entries held for the collection.
  absl::StatusOr<uint64_t> log_entry_count(uint32_t collection_id) const;
  // Calls `fn(seq, delta)` for every delta-log entry of the collection in seq order. An entry
  // that fails to open goes to `on_corrupt` (when given) and is skipped; else the scan stops.
  using LogVisitor = std::function<absl::Status(uint64_t seq, std::string&& delta)>;
  absl::Status for_each_log_entry(uint32_t collection_id, const LogVisitor& fn,
                                  const CorruptVisitor& on_corrupt = nullptr) const;
  // Removes, in one transaction, every delta-log entry of the collection with seq <=
  // `through_seq` (entries a replica's in-memory log compacted away). Returns how many went.
  absl::StatusOr<uint64_t> trim_log(uint32_t collection_id, uint64_t through_seq);
  // Every joined-through record of the collection (written by commit_crdt_write): peer replica
  // id -> the highest seq of that peer's delta log joined here. DataLoss (or FailedPrecondition
  // for an unknown key) when a record fails to open or decode.
  absl::StatusOr<std::map<uint64_t, uint64_t>> read_joined_through(uint32_t collection_id) const;

  // Key rotation support. How many stored values (every database) are sealed under each key id
  // (0 = plaintext framing); values whose header cannot be read are counted under `unreadable`.
  struct KeyUsage {
    std::map<uint32_t, uint64_t> values_by_key_id;
    uint64_t unreadable = 0;
  };
  absl::StatusOr<KeyUsage> key_usage() const;

  // Re-seals, in one write transaction, values sealed under a key other than the sealer's
  // active one, examining at most `max_values` values after `*cursor` (opaque; start with "").
  // Advances `*cursor`; sets it to "" when the whole store has been examined. Values that fail
  // to open are left as they are (and counted). Writers interleave between batches.
  struct ResealBatch {
    uint64_t examined = 0;
    uint64_t resealed = 0;
    uint64_t unreadable = 0;
  };
  absl::StatusOr<ResealBatch> reseal_batch(std::string* cursor, size_t max_values);

  // Test hook: flips one byte of the stored (sealed) value of a point, as a disk fault or an
  // attacker would. NotFound when the point does not exist.
  absl::Status corrupt_point_FOR_TESTING(uint32_t collection_id, const PointId& id,
                                         size_t byte_offset);
  // The same for a point's CRDT slice.
  absl::Status corrupt_crdt_slice_FOR_TESTING(uint32_t collection_id, const PointId& id,
                                              size_t byte_offset);

 private:
  Store(MDB_env* env, const crypto::RecordSealer& sealer);
  absl::Status open_databases();
  absl::Status load_or_record_node_id(const std::string& node_id_if_new);
  absl::StatusOr<PointRecord> open_point(std::string_view key, std::string_view sealed) const;
  absl::Status corrupt_value(MDB_dbi dbi, const std::string& key, size_t byte_offset);
  // The `points` view inside a write transaction. Each adds the change of sealed bytes to
  // `*stored_bytes_delta` and reports whether the point existed before.
  absl::StatusOr<bool> put_point_view(MDB_txn* txn, uint32_t collection_id,
                                      const PointRecord& point, int64_t* stored_bytes_delta);
  absl::StatusOr<bool> delete_point_view(MDB_txn* txn, uint32_t collection_id, const PointId& id,
                                         int64_t* stored_bytes_delta);
  // Removes the collection's log entries with seq <= through_seq inside a write transaction.
  absl::StatusOr<uint64_t> trim_log_in(MDB_txn* txn, uint32_t collection_id, uint64_t through_seq);

  MDB_env* env_;
  const crypto::RecordSealer& sealer_;
  MDB_dbi meta_dbi_ = 0;
  MDB_dbi points_dbi_ = 0;
  MDB_dbi crdt_dbi_ = 0;
  MDB_dbi causal_dbi_ = 0;
  MDB_dbi log_dbi_ = 0;
  MDB_dbi joined_dbi_ = 0;
  std::string node_id_;
};

}  // namespace meridian::storage
