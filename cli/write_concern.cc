// Write-concern options of the CLI; see write_concern.h.
#include "cli/write_concern.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace meridian::cli {

client::WriteOptions write_options(const WriteConcernArgs& args) {
  client::WriteOptions out;
  if (args.concern == "region") out.concern = client::WriteConcern::kRegion;
  if (args.concern == "all_regions") out.concern = client::WriteConcern::kAllRegions;
  out.timeout_ms = args.timeout_ms;
  return out;
}

std::string unconfirmed_note(const client::WriteResult& result, const WriteConcernArgs& args) {
  if (result.replication_confirmed) return "";
  return absl::StrCat("committed on the node, but write concern ", args.concern,
                      " was not confirmed within ", result.replication_waited_ms,
                      " ms: no acknowledgement yet from ",
                      absl::StrJoin(result.missing_regions, ", "),
                      " (the write still replicates when they are reachable)");
}

}  // namespace meridian::cli
