// Key rotation commands; see keys_commands.h.
#include "cli/keys_commands.h"

#include <cstdio>

namespace meridian::cli {
namespace {

std::string hex_id(uint32_t id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", id);
  return buf;
}

}  // namespace

void print_key_status(const client::KeyStatus& status, std::ostream& out) {
  if (!status.encrypted) {
    out << "encryption at rest: off (--insecure-no-encryption)\n";
    return;
  }
  out << "encryption at rest: on\n";
  for (const auto& key : status.keys) {
    out << "key " << hex_id(key.key_id) << (key.active ? "  active " : "         ") << "  "
        << key.values << " values\n";
  }
  out << "re-seal: " << (status.resealing ? "running" : "idle") << ", " << status.resealed_values
      << " values re-sealed since the node started";
  if (status.unreadable_values > 0) out << ", " << status.unreadable_values << " unreadable";
  out << '\n';
}

absl::Status run_keys_status(client::Client& client, std::ostream& out) {
  auto status = client.key_status();
  if (!status.ok()) return status.status();
  print_key_status(*status, out);
  return absl::OkStatus();
}

absl::Status run_keys_rotate(client::Client& client, const KeysRotateArgs& args,
                             std::ostream& out) {
  auto status = client.rotate_key(args.key_file);
  if (!status.ok()) return status.status();
  print_key_status(*status, out);
  out << "list " << args.key_file << " first among the node's --key-file settings before its "
      << "next restart\n";
  return absl::OkStatus();
}

absl::Status run_keys_retire(client::Client& client, const KeysRetireArgs& args,
                             std::ostream& out) {
  auto status = client.retire_key(args.key_id);
  if (!status.ok()) return status.status();
  print_key_status(*status, out);
  out << "retired key " << hex_id(args.key_id) << "; remove its --key-file from the node's "
      << "configuration\n";
  return absl::OkStatus();
}

}  // namespace meridian::cli
