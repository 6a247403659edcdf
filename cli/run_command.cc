// Command dispatch: one std::visit over the parsed command.
#include "cli/run_command.h"

#include <memory>
#include <type_traits>

#include "cli/collection_commands.h"
#include "cli/gen_dataset.h"
#include "cli/import_command.h"
#include "cli/keygen_command.h"
#include "cli/keys_commands.h"
#include "cli/payload_commands.h"
#include "cli/point_commands.h"
#include "cli/recall_command.h"
#include "cli/replication_lag_command.h"
#include "cli/search_command.h"
#include "client/client.h"

namespace meridian::cli {
namespace {

absl::Status run_with_client(client::Client& client, const Command& command, std::ostream& out,
                             std::ostream& err, bool progress) {
  return std::visit(
      [&](const auto& args) -> absl::Status {
        using Args = std::decay_t<decltype(args)>;
        if constexpr (std::is_same_v<Args, StatusArgs>) {
          return run_status(client, out);
        } else if constexpr (std::is_same_v<Args, CollectionCreateArgs>) {
          return run_collection_create(client, args, out);
        } else if constexpr (std::is_same_v<Args, CollectionListArgs>) {
          return run_collection_list(client, out);
        } else if constexpr (std::is_same_v<Args, CollectionInfoArgs>) {
          return run_collection_info(client, args, out);
        } else if constexpr (std::is_same_v<Args, CollectionDropArgs>) {
          return run_collection_drop(client, args, out);
        } else if constexpr (std::is_same_v<Args, ImportArgs>) {
          return run_import(client, args, out, err, progress);
        } else if constexpr (std::is_same_v<Args, SearchArgs>) {
          return run_search(client, args, out);
        } else if constexpr (std::is_same_v<Args, GetArgs>) {
          return run_get(client, args, out);
        } else if constexpr (std::is_same_v<Args, DeleteArgs>) {
          return run_delete(client, args, out);
        } else if constexpr (std::is_same_v<Args, PayloadSetArgs>) {
          return run_payload_set(client, args, out);
        } else if constexpr (std::is_same_v<Args, PayloadDeleteKeysArgs>) {
          return run_payload_delete_keys(client, args, out);
        } else if constexpr (std::is_same_v<Args, CountArgs>) {
          return run_count(client, args, out);
        } else if constexpr (std::is_same_v<Args, ScrollArgs>) {
          return run_scroll(client, args, out, err);
        } else if constexpr (std::is_same_v<Args, KeysStatusArgs>) {
          return run_keys_status(client, out);
        } else if constexpr (std::is_same_v<Args, KeysRotateArgs>) {
          return run_keys_rotate(client, args, out);
        } else if constexpr (std::is_same_v<Args, KeysRetireArgs>) {
          return run_keys_retire(client, args, out);
        } else {
          return absl::InternalError("command does not use a server");
        }
      },
      command);
}

absl::Status run(const Invocation& invocation, std::ostream& out, std::ostream& err,
                 bool progress) {
  const Command& command = invocation.command;
  if (std::holds_alternative<HelpArgs>(command)) {
    out << usage_text();
    return absl::OkStatus();
  }
  if (const auto* recall = std::get_if<RecallArgs>(&command)) return run_recall(*recall, out);
  if (const auto* gen = std::get_if<GenDatasetArgs>(&command)) return run_gen_dataset(*gen, out);
  if (const auto* keygen = std::get_if<KeygenArgs>(&command)) return run_keygen(*keygen, out);
  // Several clients on several threads (one per watched node), so it connects on its own.
  if (const auto* lag = std::get_if<ReplicationLagArgs>(&command)) {
    return run_replication_lag(invocation.server, *lag, out);
  }
  absl::StatusOr<std::unique_ptr<client::Client>> client =
      client::Client::connect(invocation.server);
  if (!client.ok()) return client.status();
  return run_with_client(**client, command, out, err, progress);
}

}  // namespace

int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err,
                   bool progress) {
  absl::Status status = run(invocation, out, err, progress);
  out.flush();
  if (status.ok()) return kExitOk;
  err << "error: " << status.message() << '\n';
  return kExitFailure;
}

}  // namespace meridian::cli
