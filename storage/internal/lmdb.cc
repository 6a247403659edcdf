// LMDB error mapping; see lmdb.h.
#include "storage/internal/lmdb.h"

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace meridian::storage::internal {

absl::Status lmdb_status(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  std::string message = absl::StrCat("storage: ", std::string(what), ": ", mdb_strerror(rc));
  if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) {
    return absl::ResourceExhaustedError(message + " (disk or storage map full)");
  }
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID) {
    return absl::DataLossError(message);
  }
  return absl::InternalError(message);
}

}  // namespace meridian::storage::internal
