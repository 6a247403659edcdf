# Meridian's public client API over Cap'n Proto RPC: collections, points and search.
#
# Compatibility rules: fields and methods are only ever added, never renumbered or retyped.
# Every request is a parameter struct, so new optional fields (filters, consistency tokens,
# search parameters) can be added without breaking old clients.
#
# Errors: a failed call raises a Cap'n Proto exception whose description starts with
# "[meridian:CODE] " where CODE is one of the status codes listed in schema/rpc_status.h
# (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED, DATA_LOSS, ...).
# A failed write changes nothing.
@0xdd9d84076ccb45ab;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("meridian::rpc");

# A point's identity: an unsigned 64-bit integer or a UUID. The two spaces are distinct:
# the number 5 and a UUID never collide.
struct PointId {
  union {
    num @0 :UInt64;
    uuid @1 :Data;   # exactly 16 bytes, RFC 4122 byte order
  }
}

# How closeness is measured. Search scores: l2 = Euclidean distance (lower is closer);
# cosine = cosine similarity in [-1, 1] (higher is closer); dot = inner product (higher is closer).
enum Metric {
  l2 @0;
  cosine @1;
  dot @2;
}

# Which index a collection uses. `flat` is exact search; `hnsw` is an approximate graph index
# (parameters in CollectionConfig; `ef` per search); `ivfFlat` is an inverted file of
# full-precision vectors (`ivfNlist` lists per sealed segment; `nprobe` per search); `ivfPq` is
# an inverted file of product-quantised vectors (`ivfNlist`, `pqM` code bytes per vector,
# `refineFactor` exact re-ranking; `nprobe` per search). hnsw and ivfFlat may store their sealed
# segments' vectors as SQ8 codes (`quantization`).
# Approximate collections keep new points in an exact growing segment until it holds
# `segmentSealPoints` points, then seal it into the collection's index in the background
# (docs/segments.md).
enum IndexKind {
  flat @0;
  hnsw @1;
  ivfFlat @2;
  ivfPq @3;
}

# How the sealed segments of an hnsw or ivfFlat collection store vectors: `none` = float32;
# `sq8` = one byte per dimension, plus the float32 vectors for re-ranking each search's best
# refineFactor * k candidates (faster scans, more memory).
enum Quantization {
  none @0;
  sq8 @1;
}

struct CollectionConfig {
  name @0 :Text;           # 1..128 chars of [A-Za-z0-9_-]
  dim @1 :UInt32;          # vector dimension, 1..65536
  metric @2 :Metric;
  indexKind @3 :IndexKind; # default flat
  hnswM @4 :UInt32;        # hnsw: links per node, 2..128 (0 = default 16)
  hnswEfConstruction @5 :UInt32;  # hnsw: candidate list while building, 1..4096 (0 = default 200)
  ivfNlist @6 :UInt32;     # ivfFlat: lists per sealed segment, 1..65536; 0 = auto (per segment
                           # of n points: min(4 * sqrt(n), n / 39), at least 1)
  segmentSealPoints @7 :UInt32;  # hnsw, ivfFlat: the exact growing segment is sealed into the
                                 # collection's index once it holds this many points,
                                 # 100..10000000 (0 = default 20000); see docs/segments.md
  segmentRebuildDeletedPercent @8 :UInt32;  # a sealed segment is rebuilt without its deleted
                                            # points once more than this percentage of its
                                            # points is deleted, 1..100 (0 = default 20)
  pqM @9 :UInt32;          # ivfPq: code bytes (sub-quantisers) per vector, 1..min(dim, 4096);
                           # 0 = auto: dim / 4, rounded down to a multiple of 4 when dim >= 16
  refineFactor @10 :UInt32;  # ivfPq, and quantization sq8: each search re-scores its best
                             # refineFactor * k candidates with float32 vectors, 1..1024
                             # (0 = default: 4 for ivfPq, 2 for sq8); other kinds: must be 0
  quantization @11 :Quantization;  # hnsw, ivfFlat: sealed segment vector storage (default none)
  shardCount @12 :UInt32;  # shards the points are split into by a hash of their id, 1..256
                           # (0 = default 1); see docs/sharding.md
  replicationFactor @13 :UInt32;  # replicas of each shard in every region, 1..64; 0 = default:
                                  # every node of the region holds every shard
}

struct CollectionInfo {
  config @0 :CollectionConfig;
  pointCount @1 :UInt64;   # live points
  storedBytes @2 :UInt64;  # bytes of stored point records (vectors + payloads), before LMDB overhead
  digest @3 :Text;         # hex BLAKE2b-256 of the canonical encoding of the collection's CRDT
                           # state: equal on replicas that hold the same state
  segments @4 :SegmentStats;  # this node's index segments of the collection
  conflicts @5 :List(CatalogConflict);  # creates of this name with other settings that lost to
                                        # this one (the earliest create wins in every region)
}

# A create of a collection name that lost to a concurrent create with other settings: its data
# was never mixed into the winner. Reported so that the region that made it can act.
struct CatalogConflict {
  region @0 :Text;           # where the losing create was made
  createdMs @1 :UInt64;      # its wall-clock time, ms since the Unix epoch
  incarnation @2 :UInt64;    # its identity in the catalog
  config @3 :CollectionConfig;  # the settings it asked for
  dropped @4 :Bool;          # it was dropped since
}

# The index segments of one collection on the answering node (docs/segments.md).
struct SegmentStats {
  growingPoints @0 :UInt64;    # points in the exact growing segment
  sealedSegments @1 :UInt32;   # sealed segments built with the collection's index kind
  sealedPoints @2 :UInt64;     # live points in them
  pendingSegments @3 :UInt32;  # segments waiting to be sealed (searched exactly meanwhile)
  buildPending @4 :Bool;       # a background build is running or queued
  builds @5 :UInt64;           # background builds published since the node started
  loadedSegments @6 :UInt64;   # sealed segments loaded from segment files at start
  builtAtStart @7 :UInt64;     # sealed segments built from the points at start
  rejectedFiles @8 :UInt64;    # segment files found missing parts, corrupt or stale at start
}

# One point as written or read. `vector` and `payload` are empty when a read did not ask for them.
struct Point {
  id @0 :PointId;
  vector @1 :List(Float32);  # exactly `dim` finite floats on upsert
  payload @2 :Text;          # a JSON object as UTF-8 text; empty means no payload
}

struct ScoredPoint {
  id @0 :PointId;
  score @1 :Float32;         # see Metric for its meaning
  vector @2 :List(Float32);  # only when withVector was asked
  payload @3 :Text;          # only when withPayload was asked
}

# The outcome of an acknowledged write.
struct WriteResult {
  applied @0 :UInt32;        # points inserted, replaced, updated or deleted
  causalToken @1 :Data;      # opaque: the collection replica's version vector after the write.
                             # Pass it as a read's consistencyToken to read this write.
  replication @2 :ReplicationOutcome;  # set when the write asked for more than `local`
}

# When a write is acknowledged.
enum WriteConcern {
  local @0;       # after the local commit (default)
  region @1;      # after a quorum of the collection's replicas in the writer's region has it
  allRegions @2;  # after at least one replica in every region has it
}

# How a write with a concern beyond `local` fared. The write is committed locally either way: an
# unconfirmed outcome is not a failure (the write will still replicate), it says which regions had
# not acknowledged it when the timeout passed.
struct ReplicationOutcome {
  confirmed @0 :Bool;
  missingRegions @1 :List(Text);
  waitedMs @2 :UInt32;
}

struct SearchRequest {
  collection @0 :Text;
  queries @1 :List(Float32); # row-major: n queries of `dim` floats each (n >= 1)
  k @2 :UInt32;              # results per query, 1..10000
  withPayload @3 :Bool;
  withVector @4 :Bool;
  consistencyToken @5 :Data; # optional causal token (see WriteResult); see Api for the wait
  ef @6 :UInt32;             # hnsw: candidate list per query, k..4096 (0 = default 64);
                             # ignored by flat
  filter @7 :Text;           # payload filter as JSON; empty = none. Every result matches it:
  # {"must": [C...], "should": [C...], "must_not": [C...]} (each optional; {} matches all):
  # must = all hold, should = at least one holds (when non-empty), must_not = none holds.
  # C is {"key": FIELD, "match": {"value": V}} or {"key": FIELD, "match": {"any": [V, ...]}}
  # (V a string, integer or boolean; a field holding an array matches when an element does),
  # {"key": FIELD, "range": {"gt"|"gte"|"lt"|"lte": NUMBER, ...}}, or a nested filter. FIELD is
  # a top-level payload field; a point without it satisfies no condition on it. Applied during
  # the HNSW traversal; a very selective filter is answered by an exact scan of the matches.
  # Malformed filters fail with InvalidArgument.
  nprobe @8 :UInt32;         # ivfFlat, ivfPq: lists scanned per sealed segment, 1..65536 (0 = default:
                             # max(8, nlist / 8) of each segment); ignored by flat and hnsw
  forwardShard @9 :Int32 = -1;  # internal, see Api
}

struct QueryResult {
  points @0 :List(ScoredPoint);  # nearest first, at most k
}

struct NodeStatus {
  version @0 :Text;          # Meridian version string
  nodeId @1 :Text;           # stable identity of this node (hex)
  uptimeMs @2 :UInt64;
  collections @3 :UInt32;
  points @4 :UInt64;         # live points across collections
  dataDir @5 :Text;
  integrityFailures @6 :UInt64;  # stored records that failed to open (tampered or corrupt) since start
  region @7 :Text;           # the region this node serves
  peerAddress @8 :Text;      # peer (replication) address; empty when the node runs alone
  members @9 :List(MemberStatus);        # the other nodes this node knows
  replication @10 :List(PeerReplication);  # one per (collection shard, peer replica)
  peerTls @11 :Bool;         # the peer port speaks mutual TLS (false: plaintext)
  tlsRefused @12 :UInt64;    # inbound peer connections refused at the TLS handshake since start
  shards @13 :List(HostedShard);  # the collection shard replicas this node holds
  handoffs @14 :List(ShardHandoff);  # held replicas this node no longer owns, being handed off
}

# A shard replica its node holds but no longer owns (a node joined the region): it is removed once
# every owner of the shard in the region is reachable and holds everything it has
# (docs/sharding.md, "Moving shards").
struct ShardHandoff {
  collection @0 :Text;
  shard @1 :UInt32;
  forwardingWrites @2 :Bool;  # every owner is reachable: writes for the shard go to the owners
  lagging @3 :List(LaggingOwner);  # owners not caught up yet (empty: about to be removed)
}

struct LaggingOwner {
  nodeId @0 :Text;
  reason @1 :Text;           # "down", "not connected", "behind: ...", ...
}

# The shards of a collection and where each is held (docs/sharding.md), for a client that sends
# requests straight to a shard's holders.
struct ShardMap {
  collection @0 :Text;
  shardCount @1 :UInt32;
  hashVersion @2 :UInt32;    # the point hash (docs/sharding.md); 1 today
  replicationFactor @3 :UInt32;
  shards @4 :List(ShardHolders);  # in shard order
}

struct ShardHolders {
  shard @0 :UInt32;
  holders @1 :List(ShardHolder);  # the answering node first when it holds the shard
}

# A node holding a replica of a shard. An empty clientAddress is the node that answered (a node
# running alone does not know the address its clients use).
struct ShardHolder {
  nodeId @0 :Text;
  region @1 :Text;
  clientAddress @2 :Text;
}

# A shard replica a node holds (docs/sharding.md).
struct HostedShard {
  collection @0 :Text;
  shard @1 :UInt32;
  shardCount @2 :UInt32;     # the collection's shard count
  points @3 :UInt64;         # live points in this replica
}

# Another node of the cluster as this node sees it.
struct MemberStatus {
  nodeId @0 :Text;
  region @1 :Text;
  clientAddress @2 :Text;
  peerAddress @3 :Text;
  up @4 :Bool;               # heard of (directly or by gossip) recently
}

# Replication of one collection to one peer replica.
struct PeerReplication {
  collection @0 :Text;
  nodeId @1 :Text;
  region @2 :Text;
  connected @3 :Bool;
  lagDeltas @4 :UInt64;      # our deltas the peer has not acknowledged
  lagMs @5 :Int64;           # age of the oldest of them
  bytesSent @6 :UInt64;
  fullStateTransfers @7 :UInt64;  # full-state transfers started to the peer
  fullStatesReceived @8 :UInt64;  # full-state transfers received from it
  reconnects @9 :UInt64;
  quarantined @10 :Bool;          # our stream to it stopped: it rejects our deltas as invalid
  quarantineReason @11 :Text;     # its error
  shard @12 :UInt32;          # which shard of the collection (0 for a one-shard collection)
}

# One master key of the node's key ring.
struct KeyInfo {
  keyId @0 :UInt32;          # public id of the key (never the key itself)
  active @1 :Bool;           # new writes are sealed under this key
  values @2 :UInt64;         # stored values currently sealed under it
}

struct KeyStatus {
  encrypted @0 :Bool;        # false when the node runs --insecure-no-encryption
  keys @1 :List(KeyInfo);    # active key first
  resealing @2 :Bool;        # a background pass is re-sealing values under the active key
  resealedValues @3 :UInt64; # values re-sealed since the node started
  unreadableValues @4 :UInt64;  # values whose header could not be read (tampered or corrupt)
}

# Operator actions on a node. Today reached through Api.admin(); with auth it will require an
# admin API key.
interface Admin {
  keyStatus @0 () -> (status :KeyStatus);
  # Adds the master key in `keyFile` (a path on the node's own machine: keys never cross the
  # network) as the active key and starts re-sealing every value under it in the background.
  rotateKey @1 (keyFile :Text) -> (status :KeyStatus);
  # Drops a key from the ring. FAILED_PRECONDITION while it is active or any value uses it.
  retireKey @2 (keyId :UInt32) -> (status :KeyStatus);
}

# The capability that serves collections, points and search. Reached through Gate.
interface Api {
  status @0 () -> (status :NodeStatus);

  createCollection @1 (config :CollectionConfig) -> (info :CollectionInfo);
  listCollections @2 () -> (collections :List(CollectionInfo));
  collectionInfo @3 (name :Text) -> (info :CollectionInfo);
  dropCollection @4 (name :Text) -> ();

  # Inserts or replaces up to 10000 points in one atomic, durable batch.
  # `writeConcern` (default local) says when to answer; `timeoutMs` (0: 5000, at most 60000)
  # bounds the wait for region / allRegions.
  upsert @5 (collection :Text, points :List(Point), writeConcern :WriteConcern,
             timeoutMs :UInt32, forwardShard :Int32 = -1) -> (result :WriteResult);
  # Deletes points by id; ids that do not exist are ignored (not counted in `applied`).
  delete @6 (collection :Text, ids :List(PointId), writeConcern :WriteConcern,
             timeoutMs :UInt32, forwardShard :Int32 = -1) -> (result :WriteResult);
  #
  # `forwardShard` (internal; clients leave it at -1): set by the node that coordinates a request
  # on a sharded collection when it sends the part for shard `forwardShard` to a node of its
  # region that holds that shard (docs/sharding.md). The receiver answers from its own replica of
  # that one shard (Unavailable when it holds none) and never forwards it again, so a stale
  # placement cannot make a request loop. Tokens and cursors stay the collection's composite ones
  # (naming only that shard).
  #
  # Reads (get, count, scroll, search) take an optional `consistencyToken`: the causalToken of an
  # earlier write, possibly made through another node. When given, the node first waits (bounded,
  # 5 s by default, without holding up other requests) until its replica of the collection
  # includes every write the token names, then reads. A token it does not reach in time fails
  # with DEADLINE_EXCEEDED; a malformed token with INVALID_ARGUMENT. Empty means "read now".

  # Returns the points that exist among `ids`, in request order; missing ids are skipped.
  get @7 (collection :Text, ids :List(PointId), withVector :Bool, withPayload :Bool,
          consistencyToken :Data, forwardShard :Int32 = -1)
      -> (points :List(Point));
  count @8 (collection :Text, consistencyToken :Data, forwardShard :Int32 = -1)
      -> (count :UInt64);
  # Pages through a collection in id order. Start with an empty cursor; an empty nextCursor
  # means the end. `limit` is 1..10000 (0 means 100).
  scroll @9 (collection :Text, cursor :Data, limit :UInt32, withVector :Bool, withPayload :Bool,
             consistencyToken :Data, forwardShard :Int32 = -1)
      -> (points :List(Point), nextCursor :Data);
  # Exact nearest-neighbour search for one or many queries.
  search @10 (request :SearchRequest) -> (results :List(QueryResult));

  # Operator actions (key rotation).
  admin @11 () -> (admin :Admin);

  # Payload updates of existing points, each a CRDT operation per point (ids that do not exist
  # are skipped, not counted in `applied`). `payload` is a JSON object; its top-level fields are
  # the unit of update and of conflict resolution (last writer wins per field).
  # Merges the given fields into each point's payload, keeping the others.
  setPayload @12 (collection :Text, ids :List(PointId), payload :Text, forwardShard :Int32 = -1)
      -> (result :WriteResult);
  # Replaces each point's whole payload with the given one.
  overwritePayload @13 (collection :Text, ids :List(PointId), payload :Text,
                        forwardShard :Int32 = -1) -> (result :WriteResult);
  # Removes the named top-level fields (absent ones are ignored).
  deletePayloadKeys @14 (collection :Text, ids :List(PointId), keys :List(Text),
                         forwardShard :Int32 = -1) -> (result :WriteResult);

  # The collection's shard map: its shard count, the point hash's version and, per shard, the
  # nodes (in every region) this node knows to hold a replica of it.
  shardMap @15 (collection :Text) -> (map :ShardMap);
}

# The bootstrap capability. `open` hands out the API; a later `login` will hand out an API
# scoped to an API key's rights, and the node will stop offering `open` when auth is on.
interface Gate {
  open @0 (clientName :Text) -> (api :Api, serverVersion :Text);
}
