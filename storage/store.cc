// LMDB-backed Store; see store.h. Named databases: `meta` (node identity, collection
// records, id counter) and `points` (collection id + point id -> sealed point record); the CRDT
// databases `crdt`, `causal`, `log` and `joined` are written by store_crdt.cc.
#include "storage/store.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "crypto/sealed_record.h"
#include "storage/internal/databases.h"
#include "storage/internal/lmdb.h"

namespace meridian::storage {
namespace {

using internal::Cursor;
using internal::from_val;
using internal::lmdb_status;
using internal::to_val;
using internal::Txn;

using internal::kCausalDb;
using internal::kCrdtDb;
using internal::kJoinedDb;
using internal::kLogDb;
using internal::kMetaDb;
using internal::kPointsDb;
constexpr std::string_view kNodeIdKey = "node_id";
constexpr std::string_view kNextCollectionIdKey = "next_collection_id";
constexpr std::string_view kCollectionKeyPrefix = "collection/";

std::string collection_meta_key(const std::string& name) {
  return std::string(kCollectionKeyPrefix) + name;
}

std::string encode_u32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

absl::StatusOr<uint32_t> decode_u32(std::string_view s) {
  if (s.size() != 4) return absl::DataLossError("malformed counter in meta database");
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

}  // namespace

Store::Store(MDB_env* env, const crypto::RecordSealer& sealer) : env_(env), sealer_(sealer) {}

Store::~Store() { mdb_env_close(env_); }

absl::StatusOr<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir,
                                                   const crypto::RecordSealer& sealer,
                                                   const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", dir.string(), ": ", ec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  MDB_env* env = nullptr;
  if (auto s = lmdb_status(mdb_env_create(&env), "create environment"); !s.ok()) return s;
  std::unique_ptr<Store> store(new Store(env, sealer));
  if (auto s = lmdb_status(mdb_env_set_maxdbs(env, 8), "set max databases"); !s.ok()) return s;
  if (auto s = lmdb_status(mdb_env_set_mapsize(env, options.map_size_bytes), "set map size");
      !s.ok()) {
    return s;
  }
  // MDB_NOTLS: read transactions are not tied to threads (callers may use worker threads).
  int rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600);
  if (rc != MDB_SUCCESS) {
    return lmdb_status(rc, absl::StrCat("open environment in ", dir.string()));
  }
  if (auto s = store->open_databases(); !s.ok()) return s;
  if (auto s = store->load_or_record_node_id(options.node_id_if_new); !s.ok()) return s;
  return store;
}

absl::Status Store::open_databases() {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  if (auto s = lmdb_status(mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &meta_dbi_), "open meta");
      !s.ok()) {
    return s;
  }
  if (auto s =
          lmdb_status(mdb_dbi_open(txn.get(), "points", MDB_CREATE, &points_dbi_), "open points");
      !s.ok()) {
    return s;
  }
  if (auto s = lmdb_status(mdb_dbi_open(txn.get(), "crdt", MDB_CREATE, &crdt_dbi_), "open crdt");
      !s.ok()) {
    return s;
  }
  if (auto s =
          lmdb_status(mdb_dbi_open(txn.get(), "causal", MDB_CREATE, &causal_dbi_), "open causal");
      !s.ok()) {
    return s;
  }
  if (auto s = lmdb_status(mdb_dbi_open(txn.get(), "log", MDB_CREATE, &log_dbi_), "open log");
      !s.ok()) {
    return s;
  }
  if (auto s =
          lmdb_status(mdb_dbi_open(txn.get(), "joined", MDB_CREATE, &joined_dbi_), "open joined");
      !s.ok()) {
    return s;
  }
  return txn.commit();
}

absl::Status Store::load_or_record_node_id(const std::string& node_id_if_new) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  MDB_val key = to_val(kNodeIdKey), value;
  int rc = mdb_get(txn.get(), meta_dbi_, &key, &value);
  if (rc == MDB_SUCCESS) {
    auto opened = sealer_.open(kMetaDb, kNodeIdKey, from_val(value));
    if (!opened.ok()) return opened.status();
    node_id_ = *opened;
    return absl::OkStatus();
  }
  if (rc != MDB_NOTFOUND) return lmdb_status(rc, "read node id");
  if (node_id_if_new.empty()) return absl::InvalidArgumentError("no node id given for a new store");
  auto sealed = sealer_.seal(kMetaDb, kNodeIdKey, node_id_if_new);
  if (!sealed.ok()) return sealed.status();
  MDB_val sealed_val = to_val(*sealed);
  if (auto s = lmdb_status(mdb_put(txn.get(), meta_dbi_, &key, &sealed_val, 0), "write node id");
      !s.ok()) {
    return s;
  }
  node_id_ = node_id_if_new;
  return txn.commit();
}

absl::StatusOr<std::vector<StoredCollection>> Store::list_collections() const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), meta_dbi_); !s.ok()) return s;
  std::vector<StoredCollection> out;
  MDB_val key = to_val(kCollectionKeyPrefix), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(kCollectionKeyPrefix)) {
    auto opened = sealer_.open(kMetaDb, from_val(key), from_val(value));
    if (!opened.ok()) return opened.status();
    auto decoded = decode_collection_value(*opened);
    if (!decoded.ok()) return decoded.status();
    out.push_back(std::move(*decoded));
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "list collections");
  return out;
}

absl::StatusOr<StoredCollection> Store::create_collection(const CollectionConfig& config) {
  // A node stores each shard replica it hosts as a collection of its own, "<name>@<shard>".
  auto local = parse_shard_replica_name(config.name);
  if (!local.ok()) return local.status();
  CollectionConfig logical = config;
  logical.name = local->collection;
  if (auto s = validate_collection_config(logical); !s.ok()) return s;
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  std::string meta_key = collection_meta_key(config.name);
  MDB_val key = to_val(meta_key), value;
  int rc = mdb_get(txn.get(), meta_dbi_, &key, &value);
  if (rc == MDB_SUCCESS) {
    return absl::AlreadyExistsError(absl::StrCat("collection '", config.name, "' already exists"));
  }
  if (rc != MDB_NOTFOUND) return lmdb_status(rc, "look up collection");

  uint32_t next_id = 1;
  MDB_val counter_key = to_val(kNextCollectionIdKey), counter_value;
  rc = mdb_get(txn.get(), meta_dbi_, &counter_key, &counter_value);
  if (rc == MDB_SUCCESS) {
    auto opened = sealer_.open(kMetaDb, kNextCollectionIdKey, from_val(counter_value));
    if (!opened.ok()) return opened.status();
    auto decoded = decode_u32(*opened);
    if (!decoded.ok()) return decoded.status();
    next_id = *decoded;
  } else if (rc != MDB_NOTFOUND) {
    return lmdb_status(rc, "read collection id counter");
  }

  StoredCollection stored{next_id, config};
  auto sealed_counter = sealer_.seal(kMetaDb, kNextCollectionIdKey, encode_u32(next_id + 1));
  if (!sealed_counter.ok()) return sealed_counter.status();
  auto sealed_record = sealer_.seal(kMetaDb, meta_key, encode_collection_value(stored));
  if (!sealed_record.ok()) return sealed_record.status();
  MDB_val counter_val = to_val(*sealed_counter), record_val = to_val(*sealed_record);
  if (auto s = lmdb_status(mdb_put(txn.get(), meta_dbi_, &counter_key, &counter_val, 0),
                           "write collection id counter");
      !s.ok()) {
    return s;
  }
  if (auto s = lmdb_status(mdb_put(txn.get(), meta_dbi_, &key, &record_val, 0),
                           "write collection record");
      !s.ok()) {
    return s;
  }
  if (auto s = txn.commit(); !s.ok()) return s;
  return stored;
}

absl::Status Store::drop_collection(const std::string& name) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  std::string meta_key = collection_meta_key(name);
  MDB_val key = to_val(meta_key), value;
  int rc = mdb_get(txn.get(), meta_dbi_, &key, &value);
  if (rc == MDB_NOTFOUND) {
    return absl::NotFoundError(absl::StrCat("collection '", name, "' does not exist"));
  }
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "look up collection");
  auto opened = sealer_.open(kMetaDb, meta_key, from_val(value));
  if (!opened.ok()) return opened.status();
  auto stored = decode_collection_value(*opened);
  if (!stored.ok()) return stored.status();
  if (auto s = lmdb_status(mdb_del(txn.get(), meta_dbi_, &key, nullptr), "delete collection");
      !s.ok()) {
    return s;
  }

  std::string prefix = collection_key_prefix(stored->id);
  for (MDB_dbi dbi : {points_dbi_, crdt_dbi_, log_dbi_, joined_dbi_}) {
    Cursor cursor;
    if (auto s = cursor.open(txn.get(), dbi); !s.ok()) return s;
    // Re-seek to the prefix after every delete: LMDB's cursor position after the last record
    // of the database is deleted is not usable for stepping on.
    while (true) {
      MDB_val point_key = to_val(prefix), point_value;
      rc = mdb_cursor_get(cursor.get(), &point_key, &point_value, MDB_SET_RANGE);
      if (rc != MDB_SUCCESS || !from_val(point_key).starts_with(prefix)) break;
      if (auto s = lmdb_status(mdb_cursor_del(cursor.get(), 0), "delete collection record");
          !s.ok()) {
        return s;
      }
    }
    cursor.close();
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "drop collection");
  }
  MDB_val causal_key = to_val(prefix);
  rc = mdb_del(txn.get(), causal_dbi_, &causal_key, nullptr);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "drop causal record");
  return txn.commit();
}

absl::StatusOr<PutResult> Store::put_points(uint32_t collection_id,
                                            std::span<const PointRecord> points) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  PutResult result;
  for (const PointRecord& point : points) {
    auto existed = put_point_view(txn.get(), collection_id, point, &result.stored_bytes_delta);
    if (!existed.ok()) return existed.status();
    ++(*existed ? result.replaced : result.inserted);
  }
  if (auto s = txn.commit(); !s.ok()) return s;
  return result;
}

absl::StatusOr<bool> Store::put_point_view(MDB_txn* txn, uint32_t collection_id,
                                           const PointRecord& point, int64_t* stored_bytes_delta) {
  std::string key_bytes = encode_point_key(collection_id, point.id);
  MDB_val key = to_val(key_bytes), old_value;
  int rc = mdb_get(txn, points_dbi_, &key, &old_value);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "read point");
  const bool existed = rc == MDB_SUCCESS;
  if (existed) *stored_bytes_delta -= static_cast<int64_t>(old_value.mv_size);
  auto sealed = sealer_.seal(kPointsDb, key_bytes, encode_point_value(point));
  if (!sealed.ok()) return sealed.status();
  MDB_val value = to_val(*sealed);
  if (auto s = lmdb_status(mdb_put(txn, points_dbi_, &key, &value, 0), "write point"); !s.ok()) {
    return s;
  }
  *stored_bytes_delta += static_cast<int64_t>(sealed->size());
  return existed;
}

absl::StatusOr<bool> Store::delete_point_view(MDB_txn* txn, uint32_t collection_id,
                                              const PointId& id, int64_t* stored_bytes_delta) {
  std::string key_bytes = encode_point_key(collection_id, id);
  MDB_val key = to_val(key_bytes), old_value;
  int rc = mdb_get(txn, points_dbi_, &key, &old_value);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "read point");
  *stored_bytes_delta -= static_cast<int64_t>(old_value.mv_size);
  if (auto s = lmdb_status(mdb_del(txn, points_dbi_, &key, nullptr), "delete point"); !s.ok()) {
    return s;
  }
  return true;
}

absl::StatusOr<DeleteResult> Store::delete_points(uint32_t collection_id,
                                                  std::span<const PointId> ids) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  DeleteResult result;
  result.deleted.reserve(ids.size());
  for (const PointId& id : ids) {
    auto deleted = delete_point_view(txn.get(), collection_id, id, &result.stored_bytes_delta);
    if (!deleted.ok()) return deleted.status();
    result.deleted.push_back(*deleted);
    result.deleted_count += *deleted ? 1 : 0;
  }
  if (auto s = txn.commit(); !s.ok()) return s;
  return result;
}

absl::StatusOr<PointRecord> Store::open_point(std::string_view key, std::string_view sealed) const {
  uint32_t collection_id = 0;
  auto id = decode_point_key(key, &collection_id);
  if (!id.ok()) return id.status();
  auto opened = sealer_.open(kPointsDb, key, sealed);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("point ", id->to_string(), ": ", opened.status().message()));
  }
  return decode_point_value(*id, *opened);
}

absl::StatusOr<std::vector<std::optional<PointRecord>>> Store::get_points(
    uint32_t collection_id, std::span<const PointId> ids) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  std::vector<std::optional<PointRecord>> out;
  out.reserve(ids.size());
  for (const PointId& id : ids) {
    std::string key_bytes = encode_point_key(collection_id, id);
    MDB_val key = to_val(key_bytes), value;
    int rc = mdb_get(txn.get(), points_dbi_, &key, &value);
    if (rc == MDB_NOTFOUND) {
      out.emplace_back(std::nullopt);
      continue;
    }
    if (rc != MDB_SUCCESS) return lmdb_status(rc, "read point");
    auto record = open_point(key_bytes, from_val(value));
    if (!record.ok()) return record.status();
    out.emplace_back(std::move(*record));
  }
  return out;
}

absl::StatusOr<ScrollPage> Store::scroll(uint32_t collection_id, std::string_view cursor_bytes,
                                         uint32_t limit) const {
  std::string prefix = collection_key_prefix(collection_id);
  std::string start = prefix;
  if (!cursor_bytes.empty()) {
    start.append(cursor_bytes);
    uint32_t ignored = 0;
    if (!decode_point_key(start, &ignored).ok()) {
      return absl::InvalidArgumentError("malformed scroll cursor");
    }
  }
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), points_dbi_); !s.ok()) return s;
  ScrollPage page;
  MDB_val key = to_val(start), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(prefix)) {
    if (page.points.size() == limit) {
      page.next_cursor = std::string(from_val(key).substr(prefix.size()));
      break;
    }
    auto record = open_point(from_val(key), from_val(value));
    if (!record.ok()) return record.status();
    page.points.push_back(std::move(*record));
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "scroll");
  return page;
}

absl::Status Store::for_each_point(uint32_t collection_id, const PointVisitor& fn,
                                   const CorruptVisitor& on_corrupt) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), points_dbi_); !s.ok()) return s;
  std::string prefix = collection_key_prefix(collection_id);
  MDB_val key = to_val(prefix), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(prefix)) {
    auto record = open_point(from_val(key), from_val(value));
    if (!record.ok()) {
      if (!on_corrupt) return record.status();
      on_corrupt(record.status());
    } else if (auto s = fn(std::move(*record), value.mv_size); !s.ok()) {
      return s;
    }
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "scan points");
  return absl::OkStatus();
}

absl::Status Store::corrupt_point_FOR_TESTING(uint32_t collection_id, const PointId& id,
                                              size_t byte_offset) {
  return corrupt_value(points_dbi_, encode_point_key(collection_id, id), byte_offset);
}

absl::Status Store::corrupt_crdt_slice_FOR_TESTING(uint32_t collection_id, const PointId& id,
                                                   size_t byte_offset) {
  return corrupt_value(crdt_dbi_, encode_point_key(collection_id, id), byte_offset);
}

absl::Status Store::corrupt_value(MDB_dbi dbi, const std::string& key_bytes, size_t byte_offset) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  MDB_val key = to_val(key_bytes), value;
  int rc = mdb_get(txn.get(), dbi, &key, &value);
  if (rc == MDB_NOTFOUND) return absl::NotFoundError("no such record");
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "read record");
  std::string damaged(from_val(value));
  damaged[byte_offset % damaged.size()] ^= 0x5a;
  MDB_val damaged_val = to_val(damaged);
  if (auto s = lmdb_status(mdb_put(txn.get(), dbi, &key, &damaged_val, 0), "write record");
      !s.ok()) {
    return s;
  }
  return txn.commit();
}

absl::StatusOr<Store::KeyUsage> Store::key_usage() const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  KeyUsage usage;
  for (MDB_dbi dbi : {meta_dbi_, points_dbi_, crdt_dbi_, causal_dbi_, log_dbi_, joined_dbi_}) {
    Cursor cursor;
    if (auto s = cursor.open(txn.get(), dbi); !s.ok()) return s;
    MDB_val key, value;
    int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
      auto id = crypto::key_id_of_sealed_record(from_val(value));
      if (id.ok()) {
        ++usage.values_by_key_id[*id];
      } else {
        ++usage.unreadable;
      }
      rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) return lmdb_status(rc, "scan key usage");
  }
  return usage;
}

absl::StatusOr<Store::ResealBatch> Store::reseal_batch(std::string* cursor_state,
                                                       size_t max_values) {
  // The cursor is one byte naming the database (an index into `dbs`) and the last key examined.
  const std::pair<MDB_dbi, std::string_view> dbs[] = {
      {meta_dbi_, kMetaDb},     {points_dbi_, kPointsDb}, {crdt_dbi_, kCrdtDb},
      {causal_dbi_, kCausalDb}, {log_dbi_, kLogDb},       {joined_dbi_, kJoinedDb}};
  const size_t kLastDb = std::size(dbs) - 1;
  size_t db_index = cursor_state->empty() ? 0 : static_cast<uint8_t>((*cursor_state)[0]);
  std::string last_key = cursor_state->empty() ? "" : cursor_state->substr(1);
  if (db_index > kLastDb) return absl::InvalidArgumentError("malformed re-seal cursor");
  const uint32_t active = sealer_.active_key_id();

  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  ResealBatch batch;
  while (db_index <= kLastDb && batch.examined < max_values) {
    auto [dbi, db_name] = dbs[db_index];
    Cursor cursor;
    if (auto s = cursor.open(txn.get(), dbi); !s.ok()) return s;
    MDB_val key = to_val(last_key), value;
    int rc = last_key.empty() ? mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST)
                              : mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && !last_key.empty() && from_val(key) == last_key) {
      rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
    }
    while (rc == MDB_SUCCESS && batch.examined < max_values) {
      ++batch.examined;
      last_key = std::string(from_val(key));
      auto id = crypto::key_id_of_sealed_record(from_val(value));
      if (!id.ok() || *id != active) {
        auto opened = sealer_.open(db_name, last_key, from_val(value));
        if (!opened.ok()) {
          ++batch.unreadable;
        } else {
          auto sealed = sealer_.seal(db_name, last_key, *opened);
          if (!sealed.ok()) return sealed.status();
          MDB_val sealed_val = to_val(*sealed);
          if (auto s = lmdb_status(mdb_cursor_put(cursor.get(), &key, &sealed_val, MDB_CURRENT),
                                   "re-seal value");
              !s.ok()) {
            return s;
          }
          ++batch.resealed;
        }
      }
      rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
      ++db_index;
      last_key.clear();
    } else if (rc != MDB_SUCCESS) {
      return lmdb_status(rc, "re-seal scan");
    }
  }
  if (auto s = txn.commit(); !s.ok()) return s;
  *cursor_state = db_index > kLastDb ? "" : std::string(1, static_cast<char>(db_index)) + last_key;
  return batch;
}

}  // namespace meridian::storage
