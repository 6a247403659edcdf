// Thin RAII helpers over the LMDB C API for storage/ only: transactions that abort unless
// committed, and mapping of LMDB error codes to absl::Status.
#pragma once

#include <lmdb.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace meridian::storage::internal {

// Maps an LMDB (or errno) return code to a status; `what` names the failed operation.
// MDB_MAP_FULL and ENOSPC become ResourceExhausted so callers can report "disk full".
absl::Status lmdb_status(int rc, std::string_view what);

inline MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view from_val(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// A transaction that is aborted on destruction unless commit() succeeded.
class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }

  absl::Status begin(MDB_env* env, bool read_only) {
    return lmdb_status(mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn_),
                       "begin transaction");
  }
  // Commits (fsyncs, for write transactions). The transaction is gone either way.
  absl::Status commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return lmdb_status(rc, "commit");
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

// A cursor closed on destruction. In a write transaction, close (or destroy) it before the
// transaction commits: LMDB frees write cursors itself when their transaction ends.
class Cursor {
 public:
  Cursor() = default;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() { close(); }
  void close() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
    cursor_ = nullptr;
  }
  absl::Status open(MDB_txn* txn, MDB_dbi dbi) {
    return lmdb_status(mdb_cursor_open(txn, dbi, &cursor_), "open cursor");
  }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace meridian::storage::internal
