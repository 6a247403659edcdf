// `meridian keygen`; see keygen_command.h.
#include "cli/keygen_command.h"

#include "crypto/key_file.h"

namespace meridian::cli {

absl::Status run_keygen(const KeygenArgs& args, std::ostream& out) {
  absl::StatusOr<crypto::KeyId> id = crypto::write_new_key_file(args.out);
  if (!id.ok()) return id.status();
  out << "wrote master key " << args.out << " (key id " << crypto::format_key_id(*id)
      << "); keep a copy somewhere safe: data sealed under it cannot be read without it\n";
  return absl::OkStatus();
}

}  // namespace meridian::cli
