// The messages replicas of one shard exchange, as plain C++ values: what the transport-free state
// machine (shard_replicator.h) consumes and produces. wire_codec.h maps them to Cap'n Proto.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "crdt/version_vector.h"

namespace meridian::replication {

// Which shard: a collection and a shard number within it.
struct ShardRef {
  std::string collection;
  uint32_t shard = 0;
  auto operator<=>(const ShardRef&) const = default;
};

// Seqs in every message are those of the sending replica's crdt::DeltaLog unless named otherwise.
// CRDT payloads are crdt codec bytes (checked by the receiver, never trusted).

// A partial full-state transfer the sender of a Hello wants resumed.
struct TransferResume {
  uint64_t transfer_id = 0;
  std::string next_cursor;
  bool operator==(const TransferResume&) const = default;
};

// Opens a session; also the anti-entropy exchange done on every (re)connect.
struct Hello {
  std::string region;
  uint64_t joined_through = 0;  // highest seq of the *receiver's* log the sender durably joined
  crdt::VersionVector vv;       // the sender's causal token
  std::optional<TransferResume> resume;
  bool want_reply = false;  // the sender has not heard our Hello in this session yet
  crdt::ReplicaId to = 0;   // the replica the sender means to reach (0: any)
  bool operator==(const Hello&) const = default;
};

// The join of the sender's deltas (after_seq, through_seq].
struct DeltaInterval {
  uint64_t after_seq = 0;
  uint64_t through_seq = 0;
  std::string delta;  // crdt point set bytes
  bool operator==(const DeltaInterval&) const = default;
};

// The sender has durably joined the receiver's deltas through `through_seq`.
struct DeltaAck {
  uint64_t through_seq = 0;
  bool operator==(const DeltaAck&) const = default;
};

// Periodic anti-entropy: the sender's durable position in the receiver's log and its causal token.
struct Exchange {
  uint64_t joined_through = 0;
  crdt::VersionVector vv;
  bool reply_wanted = false;
  bool operator==(const Exchange&) const = default;
};

// One chunk of a full-state transfer (see schema/replication.capnp, FullStateChunk).
struct FullStateChunk {
  uint64_t transfer_id = 0;
  uint64_t through_seq = 0;
  std::string cursor;       // empty: the first chunk, which also carries snapshot_context
  std::string next_cursor;  // ignored when last
  bool last = false;
  std::string snapshot_context;  // crdt point set bytes with no records (first chunk only)
  std::string records;           // crdt point set bytes
  bool operator==(const FullStateChunk&) const = default;
};

// The receiver's progress in a full-state transfer.
struct FullStateAck {
  uint64_t transfer_id = 0;
  std::string next_cursor;
  bool complete = false;
  bool unknown = false;
  bool operator==(const FullStateAck&) const = default;
};

// The receiver could not join the sender's interval starting at `after_seq`: `permanent` when
// its content is invalid there (the receiver's store answered InvalidArgument, e.g. vectors of
// another dimension), so resending the same interval cannot succeed; else a transient failure.
struct DeltaReject {
  uint64_t after_seq = 0;
  uint64_t through_seq = 0;
  bool permanent = false;
  std::string reason;  // the receiver's error, for logs and status (at most kMaxRejectReason)
  bool operator==(const DeltaReject&) const = default;
};
inline constexpr size_t kMaxRejectReason = 512;

using MessageBody = std::variant<Hello, DeltaInterval, DeltaAck, Exchange, FullStateChunk,
                                 FullStateAck, DeltaReject>;

struct PeerMessage {
  ShardRef shard;
  crdt::ReplicaId from = 0;
  MessageBody body;
  bool operator==(const PeerMessage&) const = default;
};

// A short name of the body's kind ("hello", "interval", ...), for logs and simulator traces.
inline const char* kind_name(const MessageBody& body) {
  static constexpr const char* kNames[] = {"hello", "interval",  "ack",   "exchange",
                                           "chunk", "chunk_ack", "reject"};
  return kNames[body.index()];
}

}  // namespace meridian::replication
