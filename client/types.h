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

struct CollectionInfo {
  CollectionConfig config;
  uint64_t point_count = 0;
  uint64_t stored_bytes = 0;
  std::string digest;  // hex of the canonical digest of the collection's CRDT state
};

struct NodeStatus {
  std::string version;
  std::string node_id;
  uint64_t uptime_ms = 0;
  uint32_t collections = 0;
  uint64_t points = 0;
  std::string data_dir;
  uint64_t integrity_failures = 0;  // stored records that failed to open since the node started
};

// The outcome of an acknowledged write. `causal_token` is opaque bytes.
struct WriteResult {
  uint32_t applied = 0;
  std::string causal_token;
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
