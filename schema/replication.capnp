# Meridian's peer replication protocol: how the replicas of one shard (in any region) stream CRDT
# deltas, acknowledge them, run anti-entropy and transfer full state. See docs/replication.md.
#
# Compatibility rules (as api.capnp): fields, union members and methods are only ever added, never
# renumbered or retyped. CRDT payloads travel as the crdt codec's canonical bytes (docs/crdt.md,
# "Encodings": magic "MCRD", format version, kind, checksum) inside `Data` fields, so the CRDT
# format versions independently of this schema. Every message names its shard and its sender.
# Sequence numbers ("seq") are always those of the *sender's* delta log (crdt::DeltaLog).
@0xbdf6775ef0fed01d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("meridian::rpc::repl");

# The version of this protocol a replica speaks. A receiver refuses a higher major version.
const protocolVersion :UInt16 = 1;

# Which shard a message is about: a collection and a shard number within it.
struct ShardRef {
  collection @0 :Text;   # collection name, 1..128 chars of [A-Za-z0-9_-]
  shard @1 :UInt32;      # 0 .. shardCount-1
}

# Who is speaking: one replica (incarnation) of one shard.
struct ReplicaInfo {
  replicaId @0 :UInt64;  # the crdt::ReplicaId of this shard replica; never reused
  region @1 :Text;       # the region the replica lives in (informational, for metrics)
  shard @2 :ShardRef;
  protocolVersion @3 :UInt16;
}

# A partially received full-state transfer the receiver wants to resume.
struct TransferResume {
  transferId @0 :UInt64;  # as sent in FullStateChunk.transferId
  nextCursor @1 :Data;    # the first point id the receiver still needs
}

# Sent once per direction when a connection (session) opens. Lets the other side resume where
# the durable state left off rather than where the lost connection did.
struct Hello {
  from @0 :ReplicaInfo;
  joinedThrough @1 :UInt64;  # highest seq of the *receiver's* log the sender has durably joined
  versionVector @2 :Data;    # sender's causal token (crdt codec, kind 2), for lag metrics
  resume @3 :TransferResume; # unset when no transfer is in progress
  hasResume @4 :Bool;
  wantReply @5 :Bool;        # the sender has not heard the receiver's Hello in this session yet:
                             # answer with a Hello (whose wantReply is false)
  toReplicaId @6 :UInt64;    # the replica the sender means to reach (0: any). A replica refuses
                             # a session meant for another one: after a node is wiped and restarted
                             # at the same address, peers still dialling its old replica must not
                             # mistake the new one (and its log positions) for the old.
}

# A delta interval: the join of the sender's deltas (afterSeq, throughSeq]. The receiver joins it,
# persists, then acknowledges throughSeq. Intervals are idempotent; duplicates and reordering are
# harmless because every interval starts at something the receiver acknowledged.
struct DeltaInterval {
  shard @0 :ShardRef;
  origin @1 :UInt64;      # sender replica id
  afterSeq @2 :UInt64;
  throughSeq @3 :UInt64;
  delta @4 :Data;         # crdt point set (codec kind 1)
}

# "I have durably joined everything of your log through throughSeq."
struct DeltaAck {
  shard @0 :ShardRef;
  origin @1 :UInt64;      # the acknowledging replica
  throughSeq @2 :UInt64;
}

# Anti-entropy: the sender's durable position in the receiver's log plus its causal token. The
# receiver resends exactly the deltas after joinedThrough (or a full state when they were
# compacted) and, when replyWanted, answers with its own Exchange.
struct Exchange {
  shard @0 :ShardRef;
  origin @1 :UInt64;
  joinedThrough @2 :UInt64;
  versionVector @3 :Data;   # crdt codec, kind 2
  replyWanted @4 :Bool;
}

# One chunk of a full-state transfer, for a receiver behind the sender's compacted log horizon.
# Chunks cover the sender's point ids in ascending ranges [cursor, nextCursor); the receiver
# accepts only the chunk starting at the cursor it expects (go-back-N), joins it at once, and
# after the last chunk joins a final delta built from the snapshot context. Writes keep flowing.
struct FullStateChunk {
  shard @0 :ShardRef;
  origin @1 :UInt64;
  transferId @2 :UInt64;    # random per transfer; a resume names it
  throughSeq @3 :UInt64;    # acknowledged once the transfer is complete
  cursor @4 :Data;          # first id of this chunk's range (empty: the first chunk)
  nextCursor @5 :Data;      # first id after this chunk's range (ignored when last)
  last @6 :Bool;
  snapshotContext @7 :Data; # crdt point set with no records: the context at the transfer's start
  records @8 :Data;         # crdt point set: versions in the range seen by snapshotContext
}

# Progress of a full-state transfer as seen by the receiver.
struct FullStateAck {
  shard @0 :ShardRef;
  origin @1 :UInt64;
  transferId @2 :UInt64;
  nextCursor @3 :Data;   # the next chunk the receiver expects
  complete @4 :Bool;     # the final delta is joined (a DeltaAck follows)
  unknown @5 :Bool;      # the receiver holds no such transfer: start again
}

# "I could not join your interval (afterSeq, throughSeq]." permanent: its content is invalid here
# (resending it cannot help; after a few such rejects in a row the sender quarantines its stream
# to this receiver); otherwise a transient failure (the sender retries with backoff).
struct DeltaReject {
  shard @0 :ShardRef;
  origin @1 :UInt64;      # the rejecting replica
  afterSeq @2 :UInt64;
  throughSeq @3 :UInt64;
  permanent @4 :Bool;
  reason @5 :Text;        # the receiver's error, at most 512 bytes
}

# Every message of the transport-free state machine (replication/peer_message.h), for transports
# that carry messages rather than calls (the simulator, logs, a future message bus).
struct PeerMessage {
  union {
    hello @0 :Hello;
    interval @1 :DeltaInterval;
    ack @2 :DeltaAck;
    exchange @3 :Exchange;
    chunk @4 :FullStateChunk;
    chunkAck @5 :FullStateAck;
    reject @6 :DeltaReject;
  }
}

# Receives a stream of messages from one peer within one session. Streaming calls give
# back-pressure (the client library holds further pushes while the window is full); `done` ends
# the stream and surfaces any failure of an earlier push.
interface DeltaSink {
  push @0 (message :PeerMessage) -> stream;
  done @1 () -> (joinedThrough :UInt64);  # the receiver's durable ack of the sender's log
}

# The bootstrap capability a shard replica offers its peers (one per authenticated peer).
interface Replicator {
  # Opens a session: the caller gets a sink for its messages to the callee and gives one for the
  # callee's messages to it. `hello` is the caller's Hello; `theirHello` the callee's.
  openSession @0 (hello :Hello, replySink :DeltaSink) -> (sink :DeltaSink, theirHello :Hello);

  # Anti-entropy without a session: the callee answers with its own Exchange.
  exchange @1 (request :Exchange) -> (reply :Exchange);

  # Cluster gossip between nodes (membership and the collection catalog): a GossipMessage of
  # cluster.capnp as bytes each way, so this protocol stays independent of the node layer.
  gossip @2 (message :Data) -> (reply :Data);
}
