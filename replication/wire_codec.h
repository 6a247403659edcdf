// Conversion between PeerMessage values and bytes on the wire (Cap'n Proto,
// schema/replication.capnp struct PeerMessage), with the read limits every peer connection must
// set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "replication/peer_message.h"

namespace meridian::replication {

// Framing version written by encode_peer_message; decoders accept exactly this one.
inline constexpr uint8_t kWireVersion = 1;

// Limits applied to every message from a peer (CONVENTIONS: set ReaderOptions explicitly).
struct WireLimits {
  size_t max_message_bytes = 32u << 20;       // the whole frame
  uint64_t traversal_limit_words = 8u << 20;  // 64 MiB of traversal
  int nesting_limit = 16;                     // our structs nest at most 4 deep
};

// The Cap'n Proto ReaderOptions matching `limits` (used by the RPC adapter too).
struct ReaderLimits {
  uint64_t traversal_limit_words;
  int nesting_limit;
};
ReaderLimits reader_limits(const WireLimits& limits);

// A frame: "MRPL", u8 version, three zero bytes, then one flat Cap'n Proto message. The CRDT
// payloads inside stay opaque crdt codec bytes (the state machine decodes and checks them).
std::string encode_peer_message(const PeerMessage& message);

// Never crashes on bad input: DataLoss for truncated, corrupt or oversized frames or a message
// with no known body (a newer peer's union member); Unimplemented for another framing version;
// DataLoss when a version vector inside does not decode.
absl::StatusOr<PeerMessage> decode_peer_message(std::string_view bytes,
                                                const WireLimits& limits = WireLimits{});

}  // namespace meridian::replication
