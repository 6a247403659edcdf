// The single-node database; see node.h.
#include "node/node.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "crdt/point_set_codec.h"
#include "index/distance.h"
#include "node/filtered_scan.h"
#include "node/log.h"
#include "node/payload_fields.h"
#include "node/payload_index.h"
#include "node/request_validation.h"

namespace meridian::node {
namespace {

std::string point_where(size_t position, const PointId& id) {
  return absl::StrCat("point ", position, " (id ", id.to_string(), ")");
}

uint64_t random_replica_id() {
  uint64_t id = 0;
  while (id == 0) randombytes_buf(&id, sizeof id);
  return id;
}

uint64_t system_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

ReplicaEnv replica_env(const NodeOptions& options) {
  return ReplicaEnv{options.mint_replica_id, options.physical_clock_ms, options.hlc};
}

// The labels a filter matched, as a bitmap over [0, end) for the HNSW traversal.
class MatchedLabels final : public index::LabelFilter {
 public:
  MatchedLabels(std::span<const uint64_t> labels, uint64_t end) : bits_(end, 0) {
    for (uint64_t label : labels) bits_[label] = 1;
  }
  bool accepts(uint64_t label) const override { return label < bits_.size() && bits_[label]; }

 private:
  std::vector<uint8_t> bits_;
};

}  // namespace

// In-memory state of one collection: its index and the mapping between point ids and the
// dense labels the index works with. Labels are never reused within a process.
struct Node::Collection {
  explicit Collection(const storage::StoredCollection& s) : stored(s), index(s.config) {}

  // The label of `id`, assigned on first use.
  uint64_t label(const PointId& id) {
    auto [it, inserted] = label_of.try_emplace(id, next_label);
    if (inserted) {
      id_of.emplace(next_label, id);
      ++next_label;
    }
    return it->second;
  }

  // REQUIRES: `vector` passed validate_vector for this collection.
  absl::Status put(const PointId& id, std::span<const float> vector,
                   const std::string& payload_json) {
    uint64_t l = label(id);
    if (auto s = index.add(l, vector); !s.ok()) return s;
    payloads.put(l, payload_json);
    return absl::OkStatus();
  }

  bool erase(const PointId& id) {
    auto it = label_of.find(id);
    if (it == label_of.end()) return false;
    index.remove(it->second);
    payloads.erase(it->second);
    id_of.erase(it->second);
    label_of.erase(it);
    return true;
  }

  storage::StoredCollection stored;
  std::unique_ptr<CollectionReplica> replica;
  CollectionIndex index;
  PayloadIndex payloads;  // filterable payload values by label, in step with `index`
  absl::flat_hash_map<PointId, uint64_t> label_of;
  absl::flat_hash_map<uint64_t, PointId> id_of;
  uint64_t next_label = 0;
  uint64_t stored_bytes = 0;
};

Node::Node(storage::Store& store, NodeOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.mint_replica_id) options_.mint_replica_id = random_replica_id;
  if (!options_.physical_clock_ms) options_.physical_clock_ms = system_clock_ms;
}

template <typename T>
T Node::count_integrity(T result) const {
  absl::StatusCode code;
  if constexpr (std::is_same_v<T, absl::Status>) {
    code = result.code();
  } else {
    code = result.status().code();
  }
  if (code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kFailedPrecondition) {
    integrity_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  return result;
}
Node::~Node() = default;

absl::StatusOr<std::unique_ptr<Node>> Node::open(storage::Store& store, NodeOptions options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  std::unique_ptr<Node> node(new Node(store, std::move(options)));
  auto collections = store.list_collections();
  if (!collections.ok()) return collections.status();
  absl::MutexLock lock(&node->mu_);
  for (const auto& stored : *collections) {
    if (auto s = node->load_collection(stored); !s.ok()) return s;
  }
  return node;
}

absl::Status Node::load_collection(const storage::StoredCollection& stored) {
  auto collection = std::make_unique<Collection>(stored);
  auto on_corrupt = [&](const absl::Status& error) {
    integrity_failures_.fetch_add(1, std::memory_order_relaxed);
    log_error(absl::StrCat("collection '", stored.config.name,
                           "': skipping a stored point that failed to open: ", error.ToString()));
  };
  auto replica = CollectionReplica::load(store_, stored.id, replica_env(options_), on_corrupt);
  if (!replica.ok()) return replica.status();
  collection->replica = *std::move(replica);
  // Gather every point first so the index is built in one batch (HNSW builds it with several
  // threads).
  std::vector<uint64_t> labels;
  std::vector<float> vectors;
  auto s = store_.for_each_point(
      stored.id,
      [&](storage::PointRecord&& record, size_t bytes) {
        if (record.vector.size() != stored.config.dim) {
          return absl::DataLossError(absl::StrCat("collection '", stored.config.name, "': point ",
                                                  record.id.to_string(), " has dimension ",
                                                  record.vector.size()));
        }
        collection->stored_bytes += bytes;
        labels.push_back(collection->label(record.id));
        collection->payloads.put(labels.back(), record.payload_json);
        vectors.insert(vectors.end(), record.vector.begin(), record.vector.end());
        return absl::OkStatus();
      },
      on_corrupt);
  if (!s.ok()) return s;
  if (auto built = collection->index.add_batch(labels, vectors, options_.index_build_threads);
      !built.ok()) {
    return absl::DataLossError(
        absl::StrCat("collection '", stored.config.name,
                     "': cannot index its stored points: ", built.message()));
  }
  collections_[stored.config.name] = std::move(collection);
  return absl::OkStatus();
}

absl::StatusOr<Node::Collection*> Node::find(const std::string& name) const {
  auto it = collections_.find(name);
  if (it == collections_.end()) {
    return absl::NotFoundError(absl::StrCat("collection '", name, "' does not exist"));
  }
  return it->second.get();
}

CollectionInfo Node::info_of(const Collection& c) {
  return CollectionInfo{c.stored, c.index.size(), c.stored_bytes, c.replica->digest_hex()};
}

absl::StatusOr<CollectionInfo> Node::create_collection(const CollectionConfig& config) {
  if (auto s = validate_collection_config(config); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (collections_.contains(config.name)) {
    return absl::AlreadyExistsError(absl::StrCat("collection '", config.name, "' already exists"));
  }
  auto stored = store_.create_collection(config);
  if (!stored.ok()) return stored.status();
  auto collection = std::make_unique<Collection>(*stored);
  auto replica = CollectionReplica::load(store_, stored->id, replica_env(options_), nullptr);
  if (!replica.ok()) return replica.status();
  collection->replica = *std::move(replica);
  CollectionInfo info = info_of(*collection);
  collections_[config.name] = std::move(collection);
  return info;
}

absl::StatusOr<std::vector<CollectionInfo>> Node::list_collections() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<CollectionInfo> out;
  for (const auto& [name, collection] : collections_) out.push_back(info_of(*collection));
  return out;
}

absl::StatusOr<CollectionInfo> Node::collection_info(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto c = find(name);
  if (!c.ok()) return c.status();
  return info_of(**c);
}

absl::Status Node::drop_collection(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (auto c = find(name); !c.ok()) return c.status();
  if (auto s = store_.drop_collection(name); !s.ok()) return s;
  collections_.erase(name);
  return absl::OkStatus();
}

absl::Status consistency_deadline_exceeded(absl::Duration waited) {
  return absl::DeadlineExceededError(absl::StrCat(
      "consistency token not reached within ", absl::FormatDuration(waited),
      ": this node has not yet received every write the token names (a write from another "
      "replica that has not replicated here, or a token from another collection)"));
}

absl::StatusOr<WriteOutcome> Node::upsert(const std::string& collection,
                                          std::vector<storage::PointRecord> points) {
  if (auto s = validate_batch_size(points.size(), "points"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  const CollectionConfig& config = (*c)->stored.config;
  for (size_t i = 0; i < points.size(); ++i) {
    std::string where = point_where(i, points[i].id);
    if (auto s = validate_vector(config, points[i].vector, where); !s.ok()) return s;
    auto payload = normalize_payload(points[i].payload_json, where);
    if (!payload.ok()) return payload.status();
    points[i].payload_json = std::move(*payload);
  }
  auto write = (*c)->replica->upsert(points);
  if (!write.ok()) return write.status();
  if (auto s = apply_to_index(**c, *write); !s.ok()) return s;
  return WriteOutcome{write->applied, std::move(write->causal_token)};
}

absl::Status Node::apply_to_index(Collection& c, const ReplicaWrite& write) {
  // Durable now; make the points searchable.
  for (const auto& p : write.upserted) {
    if (auto s = c.put(p.id, p.vector, p.payload_json); !s.ok()) {
      return absl::InternalError(absl::StrCat("index rejected a validated point: ", s.message()));
    }
  }
  for (const auto& id : write.removed) c.erase(id);
  c.stored_bytes =
      static_cast<uint64_t>(static_cast<int64_t>(c.stored_bytes) + write.stored_bytes_delta);
  return absl::OkStatus();
}

absl::StatusOr<WriteOutcome> Node::remove(const std::string& collection,
                                          std::span<const PointId> ids) {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  auto write = (*c)->replica->remove(ids);
  if (!write.ok()) return write.status();
  if (auto s = apply_to_index(**c, *write); !s.ok()) return s;
  return WriteOutcome{write->applied, std::move(write->causal_token)};
}

absl::StatusOr<WriteOutcome> Node::set_payload(const std::string& collection,
                                               std::span<const PointId> ids,
                                               const std::string& payload_json) {
  return update_payload(collection, ids, payload_json, PayloadUpdate::kMerge);
}

absl::StatusOr<WriteOutcome> Node::overwrite_payload(const std::string& collection,
                                                     std::span<const PointId> ids,
                                                     const std::string& payload_json) {
  return update_payload(collection, ids, payload_json, PayloadUpdate::kOverwrite);
}

absl::StatusOr<WriteOutcome> Node::update_payload(const std::string& collection,
                                                  std::span<const PointId> ids,
                                                  const std::string& payload_json,
                                                  PayloadUpdate how) {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  if (payload_json.empty()) return absl::InvalidArgumentError("payload must be a JSON object");
  auto normalized = normalize_payload(payload_json, "payload");
  if (!normalized.ok()) return normalized.status();
  auto fields = split_payload(*normalized);
  if (!fields.ok()) return fields.status();
  absl::MutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  auto write = (*c)->replica->update_payload(ids, *fields, how);
  if (!write.ok()) return write.status();
  if (auto s = apply_to_index(**c, *write); !s.ok()) return s;
  return WriteOutcome{write->applied, std::move(write->causal_token)};
}

absl::StatusOr<WriteOutcome> Node::delete_payload_keys(const std::string& collection,
                                                       std::span<const PointId> ids,
                                                       const std::vector<std::string>& keys) {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  if (keys.empty()) return absl::InvalidArgumentError("no payload keys given");
  absl::MutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  auto write = (*c)->replica->delete_payload_keys(ids, keys);
  if (!write.ok()) return write.status();
  if (auto s = apply_to_index(**c, *write); !s.ok()) return s;
  return WriteOutcome{write->applied, std::move(write->causal_token)};
}

absl::StatusOr<bool> Node::token_satisfied(const std::string& collection,
                                           std::string_view token) const {
  auto vv = crdt::decode_version_vector(token);
  if (!vv.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed consistency token: ", vv.status().message()));
  }
  absl::ReaderMutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return (*c)->replica->dominates(*vv);
}

absl::Status Node::await_token(const std::string& collection, std::string_view token,
                               std::optional<absl::Duration> timeout) const {
  auto vv = crdt::decode_version_vector(token);
  if (!vv.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed consistency token: ", vv.status().message()));
  }
  const absl::Duration wait = timeout.value_or(options_.consistency_wait);
  absl::ReaderMutexLock lock(&mu_);
  absl::Status found = absl::OkStatus();
  // Re-evaluated whenever the lock is released by a writer: a write or merge may satisfy it.
  auto caught_up = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    auto c = find(collection);
    if (!c.ok()) {
      found = c.status();
      return true;
    }
    return (*c)->replica->dominates(*vv);
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&caught_up), wait)) {
    return consistency_deadline_exceeded(wait);
  }
  return found;
}

absl::StatusOr<std::vector<std::optional<storage::PointRecord>>> Node::get(
    const std::string& collection, std::span<const PointId> ids) const {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return count_integrity(store_.get_points((*c)->stored.id, ids));
}

absl::StatusOr<uint64_t> Node::count(const std::string& collection) const {
  absl::ReaderMutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return (*c)->index.size();
}

absl::StatusOr<storage::ScrollPage> Node::scroll(const std::string& collection,
                                                 std::string_view cursor, uint32_t limit) const {
  if (limit == 0) limit = 100;
  if (limit > kMaxScrollLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("scroll limit ", limit, " exceeds the maximum of ", kMaxScrollLimit));
  }
  absl::ReaderMutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return count_integrity(store_.scroll((*c)->stored.id, cursor, limit));
}

absl::StatusOr<std::vector<std::vector<SearchHit>>> Node::search(const std::string& collection,
                                                                 std::span<const float> queries,
                                                                 const SearchParams& params) const {
  if (auto s = validate_top_k(params.k); !s.ok()) return s;
  // Exclusive: FlatIndex keeps scratch space, so even searches must not overlap.
  if (params.ef > kMaxHnswEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef = ", params.ef, " exceeds the limit of ", kMaxHnswEf));
  }
  std::optional<PayloadFilter> filter;
  if (!params.filter_json.empty()) {
    auto parsed = parse_payload_filter(params.filter_json);
    if (!parsed.ok()) return parsed.status();
    filter = *std::move(parsed);
  }
  absl::MutexLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  const CollectionConfig& config = (*c)->stored.config;
  if (queries.empty() || queries.size() % config.dim != 0) {
    return absl::InvalidArgumentError(absl::StrCat("queries hold ", queries.size(),
                                                   " floats, not a positive multiple of the ",
                                                   "collection's dimension ", config.dim));
  }
  size_t nq = queries.size() / config.dim;
  if (nq > kMaxQueriesPerSearch) {
    return absl::InvalidArgumentError(
        absl::StrCat("search of ", nq, " queries exceeds the limit of ", kMaxQueriesPerSearch));
  }
  if (nq * params.k > kMaxResultsPerSearch ||
      (params.with_vector && nq * params.k * config.dim > kMaxResultsPerSearch * 32)) {
    return absl::InvalidArgumentError(
        absl::StrCat(nq, " queries x k = ", params.k, params.with_vector ? " with vectors" : "",
                     " would return more than one reply can carry; split the request"));
  }
  for (size_t q = 0; q < nq; ++q) {
    if (auto s = validate_vector(config, queries.subspan(q * config.dim, config.dim),
                                 absl::StrCat("query ", q));
        !s.ok()) {
      return s;
    }
  }

  auto neighbours = filter ? filtered_neighbours(**c, queries, params, *filter)
                           : (*c)->index.search(queries, params.k, params.ef);
  if (!neighbours.ok()) return neighbours.status();
  std::vector<std::vector<SearchHit>> out(nq);
  for (size_t q = 0; q < nq; ++q) {
    out[q].reserve((*neighbours)[q].size());
    for (const auto& n : (*neighbours)[q]) {
      SearchHit hit;
      hit.id = (*c)->id_of.at(n.label);
      // The index ranks L2 by squared distance; users expect the distance itself.
      hit.score = config.metric == Metric::kL2 ? std::sqrt(n.score) : n.score;
      out[q].push_back(std::move(hit));
    }
  }
  if (params.with_payload || params.with_vector) {
    for (auto& hits : out) {
      std::vector<PointId> ids;
      for (const auto& h : hits) ids.push_back(h.id);
      if (ids.empty()) continue;
      auto records = count_integrity(store_.get_points((*c)->stored.id, ids));
      if (!records.ok()) return records.status();
      for (size_t i = 0; i < hits.size(); ++i) {
        if (!(*records)[i]) continue;
        if (params.with_vector) hits[i].vector = std::move((*records)[i]->vector);
        if (params.with_payload) hits[i].payload_json = std::move((*records)[i]->payload_json);
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> Node::filtered_neighbours(
    const Collection& c, std::span<const float> queries, const SearchParams& params,
    const PayloadFilter& filter) const {
  std::vector<uint64_t> matched;
  for (const auto& [label, id] : c.id_of) {
    if (c.payloads.matches(label, filter)) matched.push_back(label);
  }
  std::sort(matched.begin(), matched.end());
  const index::Metric metric = c.index.metric();
  const uint32_t dim = c.index.dim();
  if (c.index.approximate() && !prefer_exact_scan(matched.size(), c.index.size())) {
    MatchedLabels accepted(matched, c.next_label);
    return c.index.search(queries, params.k, params.ef, &accepted);
  }
  // A flat index, or few matching points: score the matching points exactly, from the vectors
  // the index holds in memory (no sealed record is opened).
  return exact_top_k(metric, dim, queries, params.k, matched,
                     [&](size_t i) { return c.index.vector_of(matched[i]); });
}

NodeStats Node::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  NodeStats s;
  s.collections = static_cast<uint32_t>(collections_.size());
  for (const auto& [name, c] : collections_) s.points += c->index.size();
  s.integrity_failures = integrity_failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace meridian::node
