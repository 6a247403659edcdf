// The CRDT side of Store (see store.h): the atomic write of a CRDT operation (local, or a delta
// received from a peer) across `crdt`, `causal`, `log`, `joined` and `points`, the trimming of
// compacted log entries, and the reads a replica resumes from.
#include "absl/strings/str_cat.h"
#include "storage/internal/databases.h"
#include "storage/internal/lmdb.h"
#include "storage/store.h"

namespace meridian::storage {
namespace {

using internal::Cursor;
using internal::from_val;
using internal::kCausalDb;
using internal::kCrdtDb;
using internal::kJoinedDb;
using internal::kLogDb;
using internal::kPointsDb;
using internal::lmdb_status;
using internal::to_val;
using internal::Txn;

}  // namespace

absl::StatusOr<CrdtWriteResult> Store::commit_crdt_write(uint32_t collection_id,
                                                         const CrdtWrite& write) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  CrdtWriteResult result;
  const std::string prefix = collection_key_prefix(collection_id);

  for (const auto& [id, slice] : write.slices) {
    std::string key_bytes = encode_point_key(collection_id, id);
    MDB_val key = to_val(key_bytes);
    if (!slice) {
      int rc = mdb_del(txn.get(), crdt_dbi_, &key, nullptr);
      if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "delete crdt slice");
      continue;
    }
    auto sealed = sealer_.seal(kCrdtDb, key_bytes, *slice);
    if (!sealed.ok()) return sealed.status();
    MDB_val value = to_val(*sealed);
    if (auto s = lmdb_status(mdb_put(txn.get(), crdt_dbi_, &key, &value, 0), "write crdt slice");
        !s.ok()) {
      return s;
    }
  }

  {
    auto sealed = sealer_.seal(kCausalDb, prefix, encode_causal_record(write.causal));
    if (!sealed.ok()) return sealed.status();
    MDB_val key = to_val(prefix), value = to_val(*sealed);
    if (auto s =
            lmdb_status(mdb_put(txn.get(), causal_dbi_, &key, &value, 0), "write causal record");
        !s.ok()) {
      return s;
    }
  }

  if (write.log_seq != 0) {
    std::string key_bytes = internal::encode_log_key(prefix, write.log_seq);
    auto sealed = sealer_.seal(kLogDb, key_bytes, write.log_delta);
    if (!sealed.ok()) return sealed.status();
    MDB_val key = to_val(key_bytes), value = to_val(*sealed);
    if (auto s = lmdb_status(mdb_put(txn.get(), log_dbi_, &key, &value, 0), "write log entry");
        !s.ok()) {
      return s;
    }
  }
  if (write.log_compact_through != 0) {
    auto trimmed = trim_log_in(txn.get(), collection_id, write.log_compact_through);
    if (!trimmed.ok()) return trimmed.status();
  }
  if (write.joined_through) {
    std::string key_bytes = internal::encode_joined_key(prefix, write.joined_through->peer);
    auto sealed = sealer_.seal(kJoinedDb, key_bytes,
                               encode_joined_through(write.joined_through->through_seq));
    if (!sealed.ok()) return sealed.status();
    MDB_val key = to_val(key_bytes), value = to_val(*sealed);
    if (auto s = lmdb_status(mdb_put(txn.get(), joined_dbi_, &key, &value, 0),
                             "write joined-through record");
        !s.ok()) {
      return s;
    }
  }

  for (const PointRecord& point : write.put_points) {
    auto put = put_point_view(txn.get(), collection_id, point, &result.stored_bytes_delta);
    if (!put.ok()) return put.status();
  }
  for (const PointId& id : write.delete_points) {
    auto deleted = delete_point_view(txn.get(), collection_id, id, &result.stored_bytes_delta);
    if (!deleted.ok()) return deleted.status();
  }
  if (auto s = txn.commit(); !s.ok()) return s;
  return result;
}

absl::StatusOr<std::optional<CausalRecord>> Store::read_causal(uint32_t collection_id) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  const std::string prefix = collection_key_prefix(collection_id);
  MDB_val key = to_val(prefix), value;
  int rc = mdb_get(txn.get(), causal_dbi_, &key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<CausalRecord>();
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "read causal record");
  auto opened = sealer_.open(kCausalDb, prefix, from_val(value));
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("causal record: ", opened.status().message()));
  }
  auto record = decode_causal_record(*opened);
  if (!record.ok()) return record.status();
  return std::optional<CausalRecord>(*std::move(record));
}

absl::Status Store::for_each_crdt_slice(uint32_t collection_id, const SliceVisitor& fn,
                                        const CorruptVisitor& on_corrupt) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), crdt_dbi_); !s.ok()) return s;
  std::string prefix = collection_key_prefix(collection_id);
  MDB_val key = to_val(prefix), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(prefix)) {
    uint32_t ignored = 0;
    auto id = decode_point_key(from_val(key), &ignored);
    absl::StatusOr<std::string> opened =
        id.ok() ? sealer_.open(kCrdtDb, from_val(key), from_val(value)) : id.status();
    if (!opened.ok()) {
      absl::Status error(opened.status().code(),
                         absl::StrCat("crdt slice", id.ok() ? " of point " + id->to_string() : "",
                                      ": ", opened.status().message()));
      if (!on_corrupt) return error;
      on_corrupt(error);
    } else if (auto s = fn(*id, *std::move(opened)); !s.ok()) {
      return s;
    }
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "scan crdt slices");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Store::log_entry_count(uint32_t collection_id) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), log_dbi_); !s.ok()) return s;
  std::string prefix = collection_key_prefix(collection_id);
  MDB_val key = to_val(prefix), value;
  uint64_t n = 0;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(prefix)) {
    ++n;
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "scan log");
  return n;
}

absl::StatusOr<uint64_t> Store::trim_log_in(MDB_txn* txn, uint32_t collection_id,
                                            uint64_t through_seq) {
  const std::string prefix = collection_key_prefix(collection_id);
  Cursor cursor;
  if (auto s = cursor.open(txn, log_dbi_); !s.ok()) return s;
  uint64_t trimmed = 0;
  int rc = MDB_SUCCESS;
  // Re-seek after every delete (see drop_collection). Entries sort by seq, so the scan stops at
  // the first entry above `through_seq`: trimming costs what it removes.
  while (true) {
    MDB_val key = to_val(prefix), value;
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
    if (rc != MDB_SUCCESS || !from_val(key).starts_with(prefix) ||
        internal::log_key_seq(from_val(key)) > through_seq) {
      break;
    }
    if (auto s = lmdb_status(mdb_cursor_del(cursor.get(), 0), "trim log"); !s.ok()) return s;
    ++trimmed;
  }
  cursor.close();
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "trim log");
  return trimmed;
}

absl::StatusOr<uint64_t> Store::trim_log(uint32_t collection_id, uint64_t through_seq) {
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  auto trimmed = trim_log_in(txn.get(), collection_id, through_seq);
  if (!trimmed.ok()) return trimmed.status();
  if (*trimmed == 0) return trimmed;  // nothing to commit
  if (auto s = txn.commit(); !s.ok()) return s;
  return trimmed;
}

absl::Status Store::for_each_log_entry(uint32_t collection_id, const LogVisitor& fn,
                                       const CorruptVisitor& on_corrupt) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), log_dbi_); !s.ok()) return s;
  const std::string prefix = collection_key_prefix(collection_id);
  MDB_val key = to_val(prefix), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(prefix)) {
    absl::StatusOr<std::string> opened =
        from_val(key).size() == prefix.size() + 8
            ? sealer_.open(kLogDb, from_val(key), from_val(value))
            : absl::StatusOr<std::string>(absl::DataLossError("malformed key"));
    if (!opened.ok()) {
      absl::Status error(opened.status().code(),
                         absl::StrCat("delta-log entry: ", opened.status().message()));
      if (!on_corrupt) return error;
      on_corrupt(error);
    } else if (auto s = fn(internal::log_key_seq(from_val(key)), *std::move(opened)); !s.ok()) {
      return s;
    }
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "scan log");
  return absl::OkStatus();
}

absl::StatusOr<std::map<uint64_t, uint64_t>> Store::read_joined_through(
    uint32_t collection_id) const {
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  Cursor cursor;
  if (auto s = cursor.open(txn.get(), joined_dbi_); !s.ok()) return s;
  const std::string prefix = collection_key_prefix(collection_id);
  std::map<uint64_t, uint64_t> out;
  MDB_val key = to_val(prefix), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && from_val(key).starts_with(prefix)) {
    if (from_val(key).size() != prefix.size() + 8) {
      return absl::DataLossError("joined-through record: malformed key");
    }
    const uint64_t peer = internal::log_key_seq(from_val(key));
    auto opened = sealer_.open(kJoinedDb, from_val(key), from_val(value));
    if (!opened.ok()) {
      return absl::Status(
          opened.status().code(),
          absl::StrCat("joined-through record of peer ", peer, ": ", opened.status().message()));
    }
    auto through = decode_joined_through(*opened);
    if (!through.ok()) return through.status();
    out.emplace(peer, *through);
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "scan joined-through");
  return out;
}

}  // namespace meridian::storage
