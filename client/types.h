// Plain result and request types of the C++ client (no Cap'n Proto in them), shared by the
// async client, the blocking facade and the `meridian` CLI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/types.h"

namespace meridian::client {

// One point as written or read. `vector` and `payload_json` are empty when a read did not ask
// for them. `payload_json` is a JSON object as text, or empty for "no payload".
struct PointData {
  PointId id;
  std::vector<float> vector;
  std::string payload_json;
};

// One search hit. `score` follows the collection's metric (see Metric in schema/api.capnp):
// l2 = Euclidean distance (lower is closer), cosine and dot = similarity (higher is closer).
struct ScoredPoint {
  PointId id;
  float score = 0;
  std::vector<float> vector;
  std::string payload_json;
};

// The index segments of a collection on the answering node (SegmentStats in schema/api.capnp).
struct SegmentStats {
  uint64_t growing_points = 0;    // in the exact growing segment
  uint32_t sealed_segments = 0;   // built with the collection's index kind
  uint64_t sealed_points = 0;     // live points in them
  uint32_t pending_segments = 0;  // waiting to be sealed (searched exactly meanwhile)
  bool build_pending = false;     // a background build is running or queued
  uint64_t builds = 0;            // background builds since the node started
  uint64_t loaded_segments = 0;   // loaded from segment files at start
  uint64_t built_at_start = 0;    // built from the points at start
  uint64_t rejected_files = 0;    // segment files found unusable at start
};

// A create of the same collection name, with other settings, that lost to the collection's
// create (the earliest wins in every region); its data was never mixed into the winner.
struct CatalogConflict {
  std::string region;       // where the losing create was made
  uint64_t created_ms = 0;  // its wall-clock time, ms since the Unix epoch
  uint64_t incarnation = 0;
  CollectionConfig config;  // the settings it asked for
  bool dropped = false;
};

struct CollectionInfo {
  CollectionConfig config;
  uint64_t point_count = 0;
  uint64_t stored_bytes = 0;
  std::string digest;  // hex of the canonical digest of the collection's CRDT state
  SegmentStats segments = {};
  std::vector<CatalogConflict> conflicts;  // empty: no concurrent create with other settings
};

// A collection's shard map (ShardMap in schema/api.capnp): which nodes hold each shard. A client
// may send a shard's part of a write straight to one of its holders: the part of a batch for
// shard shard_of(id, shard_count) (schema/shard_hash.h) when hash_version == kShardHashVersion.
struct ShardMap {
  std::string collection;
  uint32_t shard_count = 1;
  uint32_t hash_version = 0;
  uint32_t replication_factor = 0;
  struct Holder {
    std::string node_id, region;
    std::string client_address;  // empty: the node that answered
  };
  std::vector<std::vector<Holder>> holders;  // by shard
};

struct NodeStatus {
  std::string version;
  std::string node_id;
  uint64_t uptime_ms = 0;
  uint32_t collections = 0;
  uint64_t points = 0;
  std::string data_dir;
  uint64_t integrity_failures = 0;  // stored records that failed to open since the node started
  std::string region;
  std::string peer_address;  // empty when the node runs alone
  bool peer_tls = false;     // the peer port speaks mutual TLS
  uint64_t tls_refused = 0;  // inbound peer connections refused at the TLS handshake
  struct Member {
    std::string node_id, region, client_address, peer_address;
    bool up = false;
  };
  std::vector<Member> members;  // the other nodes this node knows
  // Replication of one collection to one peer replica.
  struct PeerReplication {
    std::string collection, node_id, region;
    bool connected = false;
    uint64_t lag_deltas = 0;
    int64_t lag_ms = 0;
    uint64_t bytes_sent = 0;
    uint64_t full_state_transfers = 0;
    uint64_t full_states_received = 0;
    uint64_t reconnects = 0;
    bool quarantined = false;  // our stream to it stopped: it rejects our deltas as invalid
    std::string quarantine_reason;
    uint32_t shard = 0;
  };
  std::vector<PeerReplication> replication;
  // The collection shard replicas the node holds.
  struct HostedShard {
    std::string collection;
    uint32_t shard = 0;
    uint32_t shard_count = 1;
    uint64_t points = 0;
  };
  std::vector<HostedShard> shards;
  // A held shard replica the node no longer owns, being handed off to its owners.
  struct Handoff {
    std::string collection;
    uint32_t shard = 0;
    bool forwarding_writes = false;  // every owner is reachable: writes go to them
    struct Lagging {
      std::string node_id, reason;
    };
    std::vector<Lagging> lagging;  // owners not caught up yet
  };
  std::vector<Handoff> handoffs;
};

// When a write is acknowledged: after the local commit (default), after a quorum of the
// collection's replicas in the writer's region has it, or after every region has it.
enum class WriteConcern { kLocal, kRegion, kAllRegions };

struct WriteOptions {
  WriteConcern concern = WriteConcern::kLocal;
  uint32_t timeout_ms = 0;  // bound of the wait for kRegion / kAllRegions (0: the node's 5 s)
};

// The outcome of an acknowledged write. `causal_token` is opaque bytes. With a write concern
// beyond kLocal, `replication_confirmed` is false when the timeout passed first: the write is
// committed on the node and will still replicate; `missing_regions` had not acknowledged it.
struct WriteResult {
  uint32_t applied = 0;
  std::string causal_token;
  bool replication_confirmed = true;
  std::vector<std::string> missing_regions;
  uint32_t replication_waited_ms = 0;
};

// One page of a scroll. `next_cursor` is opaque bytes; empty means the end of the collection.
struct ScrollPage {
  std::vector<PointData> points;
  std::string next_cursor;
};

// What a read returns besides ids, and what it must see. `consistency_token`: a
// WriteResult::causal_token; when non-empty the node waits (bounded) until it has every write the
// token names (DeadlineExceeded when it does not get there in time).
struct ReadOptions {
  bool with_vector = false;
  bool with_payload = false;
  std::string consistency_token = {};
};

// A search for n >= 1 queries of the collection's dimension, stored row-major in `queries`.
struct SearchRequest {
  std::string collection;
  std::vector<float> queries;
  uint32_t k = 10;
  bool with_payload = false;
  bool with_vector = false;
  std::string consistency_token = {};  // as in ReadOptions
  uint32_t ef = 0;                     // hnsw beam width (0: the collection's default)
  uint32_t nprobe = 0;                 // ivf_flat / ivf_pq lists scanned per segment (0: default)
  std::string filter = {};             // payload filter JSON (schema/api.capnp); "" = none
};

// Results of one search call: one list per query, in query order, each nearest first.
// Encryption-at-rest keys of a node (Admin.keyStatus and friends).
struct KeyInfo {
  uint32_t key_id = 0;
  bool active = false;
  uint64_t values = 0;  // stored values sealed under this key
};
struct KeyStatus {
  bool encrypted = false;
  std::vector<KeyInfo> keys;  // active first
  bool resealing = false;
  uint64_t resealed_values = 0;
  uint64_t unreadable_values = 0;
};

using SearchResults = std::vector<std::vector<ScoredPoint>>;

}  // namespace meridian::client
