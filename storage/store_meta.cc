// Node-level meta records of Store (see store.h, read_meta/write_meta): small sealed values such
// as the collection catalog, kept beside the collection records in the `meta` database.
#include "absl/strings/str_cat.h"
#include "storage/internal/databases.h"
#include "storage/internal/lmdb.h"
#include "storage/store.h"

namespace meridian::storage {
namespace {

using internal::from_val;
using internal::kMetaDb;
using internal::lmdb_status;
using internal::to_val;
using internal::Txn;

absl::Status check_meta_key(std::string_view key) {
  if (key.empty() || key.starts_with("collection/")) {
    return absl::InvalidArgumentError(absl::StrCat("reserved meta key '", std::string(key), "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> Store::read_meta(std::string_view key) const {
  if (auto s = check_meta_key(key); !s.ok()) return s;
  Txn txn;
  if (auto s = txn.begin(env_, true); !s.ok()) return s;
  MDB_val k = to_val(key), value;
  int rc = mdb_get(txn.get(), meta_dbi_, &k, &value);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != MDB_SUCCESS) return lmdb_status(rc, "read meta record");
  auto opened = sealer_.open(kMetaDb, key, from_val(value));
  if (!opened.ok()) return opened.status();
  return std::optional<std::string>(std::move(*opened));
}

absl::Status Store::write_meta(std::string_view key, std::string_view value) {
  if (auto s = check_meta_key(key); !s.ok()) return s;
  auto sealed = sealer_.seal(kMetaDb, key, value);
  if (!sealed.ok()) return sealed.status();
  Txn txn;
  if (auto s = txn.begin(env_, false); !s.ok()) return s;
  MDB_val k = to_val(key), v = to_val(*sealed);
  if (auto s = lmdb_status(mdb_put(txn.get(), meta_dbi_, &k, &v, 0), "write meta record");
      !s.ok()) {
    return s;
  }
  return txn.commit();
}

}  // namespace meridian::storage
