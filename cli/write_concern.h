// The write-concern options of the write commands (`--write-concern`, `--write-timeout-ms`) as
// client options, and the line that reports a write whose replication was not confirmed.
#pragma once

#include <string>

#include "cli/command_line.h"
#include "client/types.h"

namespace meridian::cli {

client::WriteOptions write_options(const WriteConcernArgs& args);
// "" when confirmed; else a sentence naming the regions that had not acknowledged the write.
std::string unconfirmed_note(const client::WriteResult& result, const WriteConcernArgs& args);

}  // namespace meridian::cli
