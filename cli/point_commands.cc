// Point read/delete commands and node status, printed as JSON lines or plain text.
#include "cli/point_commands.h"

#include "absl/strings/str_cat.h"
#include "cli/point_json.h"
#include "cli/write_concern.h"

namespace meridian::cli {
namespace {
const client::ReadOptions kEverything{
    .with_vector = true, .with_payload = true, .consistency_token = {}};
}  // namespace

absl::Status run_get(client::Client& client, const GetArgs& args, std::ostream& out) {
  absl::StatusOr<std::vector<client::PointData>> points =
      client.get(args.collection, args.ids, kEverything);
  if (!points.ok()) return points.status();
  for (const auto& point : *points) out << point_to_json(point) << '\n';
  if (points->empty()) {
    return absl::NotFoundError(
        absl::StrCat("none of the ", args.ids.size(), " ids exists in ", args.collection));
  }
  return absl::OkStatus();
}

absl::Status run_delete(client::Client& client, const DeleteArgs& args, std::ostream& out) {
  absl::StatusOr<client::WriteResult> result =
      client.remove(args.collection, args.ids, write_options(args.write));
  if (!result.ok()) return result.status();
  out << "deleted " << result->applied << (result->applied == 1 ? " point\n" : " points\n");
  if (auto note = unconfirmed_note(*result, args.write); !note.empty()) out << note << '\n';
  return absl::OkStatus();
}

absl::Status run_count(client::Client& client, const CountArgs& args, std::ostream& out) {
  absl::StatusOr<uint64_t> count = client.count(args.collection);
  if (!count.ok()) return count.status();
  out << *count << '\n';
  return absl::OkStatus();
}

absl::Status run_scroll(client::Client& client, const ScrollArgs& args, std::ostream& out,
                        std::ostream& err) {
  absl::StatusOr<client::ScrollPage> page =
      client.scroll(args.collection, args.cursor, args.limit, kEverything);
  if (!page.ok()) return page.status();
  for (const auto& point : page->points) out << point_to_json(point) << '\n';
  if (page->next_cursor.empty()) {
    err << "end of collection\n";
  } else {
    err << "next cursor: " << hex_encode(page->next_cursor) << '\n';
  }
  return absl::OkStatus();
}

absl::Status run_status(client::Client& client, std::ostream& out) {
  absl::StatusOr<client::NodeStatus> status = client.status();
  if (!status.ok()) return status.status();
  out << "version:     " << status->version << '\n'
      << "node id:     " << status->node_id << '\n'
      << "uptime:      " << status->uptime_ms / 1000.0 << " s\n"
      << "collections: " << status->collections << '\n'
      << "points:      " << status->points << '\n'
      << "data dir:    " << status->data_dir << '\n'
      << "integrity failures: " << status->integrity_failures << '\n';
  if (status->peer_address.empty()) return absl::OkStatus();
  out << "region:      " << status->region << '\n'
      << "peer address: " << status->peer_address << '\n'
      << "peer TLS:    "
      << (status->peer_tls ? absl::StrCat("mutual TLS, ", status->tls_refused, " refused")
                           : std::string("OFF (plaintext)"))
      << '\n'
      << "members:     " << status->members.size() << '\n';
  for (const auto& m : status->members) {
    out << "  " << m.node_id.substr(0, 8) << "  region " << m.region << "  client "
        << m.client_address << "  peer " << m.peer_address << "  " << (m.up ? "up" : "DOWN")
        << '\n';
  }
  out << "shards:      " << status->shards.size() << " shard replicas held here\n";
  for (const auto& h : status->shards) {
    out << "  " << h.collection << " shard " << h.shard << "/" << h.shard_count << "  " << h.points
        << " points\n";
  }
  for (const auto& h : status->handoffs) {
    out << "  " << h.collection << " shard " << h.shard << "  RETIRING (no longer owned here; "
        << (h.forwarding_writes ? "writes go to its owners" : "still taking writes") << ")";
    if (h.lagging.empty()) out << ", every owner caught up";
    out << '\n';
    for (const auto& l : h.lagging) {
      out << "    owner " << l.node_id.substr(0, 8) << " not caught up: " << l.reason << '\n';
    }
  }
  size_t quarantined = 0;
  for (const auto& p : status->replication) quarantined += p.quarantined ? 1 : 0;
  out << "replication: " << status->replication.size() << " peer replicas";
  if (quarantined > 0) out << ", " << quarantined << " QUARANTINED";
  out << '\n';
  for (const auto& p : status->replication) {
    out << "  " << p.collection;
    if (p.shard != 0) out << " shard " << p.shard;
    out << " -> " << p.node_id.substr(0, 8) << " (" << p.region << ")  "
        << (p.connected ? "connected" : "DISCONNECTED") << "  lag " << p.lag_deltas << " deltas / "
        << p.lag_ms << " ms  sent " << p.bytes_sent << " B  full-state " << p.full_state_transfers
        << " out / " << p.full_states_received << " in  reconnects " << p.reconnects << '\n';
    if (p.quarantined) {
      out << "    QUARANTINED: it rejects our deltas as invalid (" << p.quarantine_reason
          << "); nothing more is sent to it\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace meridian::cli
