// The CRDT side of Store (see store.h): the atomic write of a CRDT operation across `crdt`,
// `causal`, `log` and `points`, and the reads a replica resumes from.
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
    Cursor cursor;
    if (auto s = cursor.open(txn.get(), log_dbi_); !s.ok()) return s;
    int rc = MDB_SUCCESS;
    // Re-seek after every delete (see drop_collection).
    while (true) {
      MDB_val key = to_val(prefix), value;
      rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
      if (rc != MDB_SUCCESS || !from_val(key).starts_with(prefix) ||
          internal::log_key_seq(from_val(key)) > write.log_compact_through) {
        break;
      }
      if (auto s = lmdb_status(mdb_cursor_del(cursor.get(), 0), "compact log"); !s.ok()) return s;
    }
    cursor.close();
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "compact log");
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

}  // namespace meridian::storage
