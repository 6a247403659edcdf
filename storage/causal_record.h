// The per-collection causal record kept in the `causal` database (the replica's identity, its
// causal context, its clock's persisted bound and its delta log's next seq), and the per-peer
// joined-through value of the `joined` database. Pure encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace meridian::storage {

// What a replica needs, besides its per-id slices, to resume after a restart. `context` is the
// CRDT library's encoding of the causal context (opaque here: storage never parses CRDT bytes).
struct CausalRecord {
  uint64_t replica_id = 0;
  std::string context;
  uint64_t hlc_bound_ms = 0;  // every HLC timestamp issued so far is below this
  uint64_t next_log_seq = 1;  // the seq the replica's next delta-log entry gets
  friend bool operator==(const CausalRecord&, const CausalRecord&) = default;
};

// Layout (before sealing): version byte (1), replica id (u64 LE), hlc bound (u64 LE), next log
// seq (u64 LE), context length (u32 LE), context bytes.
std::string encode_causal_record(const CausalRecord& record);
// DataLoss on a malformed value, Unimplemented for another version.
absl::StatusOr<CausalRecord> decode_causal_record(std::string_view value);

// The value of a joined-through record (before sealing): version byte (1), then the highest seq
// of the peer's delta log joined here (u64 LE).
std::string encode_joined_through(uint64_t through_seq);
// DataLoss on a malformed value, Unimplemented for another version.
absl::StatusOr<uint64_t> decode_joined_through(std::string_view value);

}  // namespace meridian::storage
