// Payload update commands; see payload_commands.h.
#include "cli/payload_commands.h"

#include "absl/strings/str_cat.h"

namespace meridian::cli {
namespace {

absl::Status report(const absl::StatusOr<client::WriteResult>& result, const PointId& id,
                    std::ostream& out) {
  if (!result.ok()) return result.status();
  if (result->applied == 0) {
    return absl::NotFoundError(absl::StrCat("point ", id.to_string(), " does not exist"));
  }
  out << "updated " << result->applied << (result->applied == 1 ? " point\n" : " points\n");
  return absl::OkStatus();
}

}  // namespace

absl::Status run_payload_set(client::Client& client, const PayloadSetArgs& args,
                             std::ostream& out) {
  const PointId ids[] = {args.id};
  return report(args.overwrite ? client.overwrite_payload(args.collection, ids, args.payload_json)
                               : client.set_payload(args.collection, ids, args.payload_json),
                args.id, out);
}

absl::Status run_payload_delete_keys(client::Client& client, const PayloadDeleteKeysArgs& args,
                                     std::ostream& out) {
  const PointId ids[] = {args.id};
  return report(client.delete_payload_keys(args.collection, ids, args.keys), args.id, out);
}

}  // namespace meridian::cli
