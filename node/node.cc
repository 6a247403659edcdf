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
#include "node/shard_placement.h"

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

// Where and how the collection `stored` keeps its index segments.
SegmentOptions segment_options(const NodeOptions& options,
                               const storage::StoredCollection& stored) {
  SegmentOptions out;
  if (!options.segment_dir.empty()) {
    out.files.dir = options.segment_dir / absl::StrCat(stored.id, "-", stored.config.name);
  }
  out.files.keys = options.segment_keys;
  out.files.collection = stored.config.name;
  out.build_threads = options.index_build_threads;
  out.gpu = options.gpu;
  if (options.before_segment_publish) {
    out.before_publish = [hook = options.before_segment_publish, name = stored.config.name] {
      hook(name);
    };
  }
  return out;
}

ReplicaEnv replica_env(const NodeOptions& options) {
  return ReplicaEnv{options.mint_replica_id, options.physical_clock_ms, options.hlc,
                    options.retain_delta_log};
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
  Collection(const storage::StoredCollection& s, SegmentOptions segments)
      : stored(s), index(s.config, std::move(segments)) {}

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
    if (auto s = index.add(l, id, vector); !s.ok()) return s;
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
  std::shared_ptr<CollectionReplica> replica;  // shared with the replication layer
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
  AnnotatedWriterLock lock(&node->mu_);
  for (const auto& stored : *collections) {
    if (auto s = node->load_collection(stored); !s.ok()) return s;
  }
  if (auto s = node->load_catalog(); !s.ok()) return s;
  return node;
}

absl::Status Node::load_collection(const storage::StoredCollection& stored) {
  auto collection = std::make_unique<Collection>(stored, segment_options(options_, stored));
  auto on_corrupt = [&](const absl::Status& error) {
    integrity_failures_.fetch_add(1, std::memory_order_relaxed);
    log_error(absl::StrCat("collection '", stored.config.name,
                           "': skipping a stored point that failed to open: ", error.ToString()));
  };
  auto replica = CollectionReplica::load(store_, stored.id, replica_env(options_), on_corrupt);
  if (!replica.ok()) return replica.status();
  collection->replica = *std::move(replica);
  // Gather every point first so the index is loaded in one batch (segment files matched against
  // the points; an HNSW segment built with several threads).
  std::vector<uint64_t> labels;
  std::vector<PointId> ids;
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
        ids.push_back(record.id);
        collection->payloads.put(labels.back(), record.payload_json);
        vectors.insert(vectors.end(), record.vector.begin(), record.vector.end());
        return absl::OkStatus();
      },
      on_corrupt);
  if (!s.ok()) return s;
  if (auto built = collection->index.load(labels, ids, vectors, options_.index_build_threads);
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
  return CollectionInfo{c.stored, c.index.size(), c.stored_bytes, c.replica->digest_hex(),
                        c.index.stats()};
}

absl::StatusOr<CollectionInfo> Node::create_collection(const CollectionConfig& config) {
  if (auto s = validate_collection_config(config); !s.ok()) return s;
  AnnotatedWriterLock lock(&mu_);
  if (collections_.contains(config.name)) {
    return absl::AlreadyExistsError(absl::StrCat("collection '", config.name, "' already exists"));
  }
  // The catalog first: a crash before the local create is repaired at the next start (the
  // catalog says the collection exists, so it is created then).
  auto entry = catalog_.create(config, options_.mint_replica_id(), options_.physical_clock_ms(),
                               options_.region);
  if (!entry.ok()) return entry.status();
  // Only the shards this node owns in its region (all of them for replication factor 0).
  std::vector<uint32_t> owned;
  for (uint32_t shard = 0; shard < config.shard_count; ++shard) {
    if (!owns_shard_locked(config, shard)) continue;
    owned.push_back(shard);
    bindings_[shard_replica_name(config.name, shard)] = entry->incarnation;
  }
  if (auto s = persist_catalog(); !s.ok()) return s;
  for (uint32_t shard : owned) {
    if (auto s = create_local(shard_replica_config(config, shard)); !s.ok()) return s;
  }
  if (!collections_.contains(config.name)) {
    CollectionInfo none;  // shard 0 lives on other nodes
    none.stored.config = config;
    return none;
  }
  return info_of(*collections_.at(config.name));
}

CollectionConfig shard_replica_config(const CollectionConfig& config, uint32_t shard) {
  CollectionConfig out = config;
  out.name = shard_replica_name(config.name, shard);
  return out;
}

std::vector<std::string> Node::local_shards_of(const std::string& collection) const {
  std::vector<std::string> out;
  for (const auto& [name, c] : collections_) {
    auto parsed = parse_shard_replica_name(name);
    if (parsed.ok() && parsed->collection == collection) out.push_back(name);
  }
  return out;
}

absl::StatusOr<CollectionConfig> Node::collection_config(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  if (auto winner = catalog_.resolve(name); winner.has_value() && !winner->dropped) {
    return winner->config;
  }
  auto c = find(name);
  if (!c.ok()) return c.status();
  return (*c)->stored.config;
}

absl::Status Node::create_local(const CollectionConfig& config) {
  auto stored = store_.create_collection(config);
  if (!stored.ok()) return stored.status();
  auto collection = std::make_unique<Collection>(*stored, segment_options(options_, *stored));
  // Collection ids are never reused, so files there are leftovers of a crash: start clean.
  remove_segment_files(collection->index.files());
  auto replica = CollectionReplica::load(store_, stored->id, replica_env(options_), nullptr);
  if (!replica.ok()) return replica.status();
  collection->replica = *std::move(replica);
  collections_[config.name] = std::move(collection);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CollectionInfo>> Node::list_collections() const {
  AnnotatedReaderLock lock(&mu_);
  std::vector<CollectionInfo> out;
  for (const auto& [name, collection] : collections_) out.push_back(info_of(*collection));
  return out;
}

absl::StatusOr<CollectionInfo> Node::collection_info(const std::string& name) const {
  AnnotatedReaderLock lock(&mu_);
  auto c = find(name);
  if (!c.ok()) return c.status();
  return info_of(**c);
}

absl::Status Node::drop_collection(const std::string& name) {
  AnnotatedWriterLock lock(&mu_);
  if (auto c = find(name); !c.ok()) return c.status();
  // The catalog first: a crash before the local drop is finished at the next start.
  if (auto s = catalog_.drop(name); !s.ok()) return s;
  const std::vector<std::string> shards = local_shards_of(name);
  for (const auto& local : shards) bindings_.erase(local);
  if (auto s = persist_catalog(); !s.ok()) return s;
  for (const auto& local : shards) {
    if (auto s = drop_local(local); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<UnownedReplica> Node::unowned_replicas() const {
  AnnotatedReaderLock lock(&mu_);
  std::vector<UnownedReplica> out;
  if (!region_members_.has_value()) return out;
  for (const auto& [name, c] : collections_) {
    auto parsed = parse_shard_replica_name(name);
    if (!parsed.ok()) continue;
    const auto winner = catalog_.resolve(parsed->collection);
    if (!winner.has_value() || winner->dropped || winner->config.replication_factor == 0) continue;
    if (owns_shard_locked(winner->config, parsed->shard)) continue;
    out.push_back({name, parsed->collection, parsed->shard, c->replica->replica_id(),
                   shard_owners(parsed->collection, parsed->shard, *region_members_,
                                winner->config.replication_factor)});
  }
  return out;
}

absl::StatusOr<bool> Node::retire_replica(
    const std::string& name, crdt::ReplicaId expected_replica,
    const std::function<bool(const CollectionReplica& replica)>& still_safe) {
  AnnotatedWriterLock lock(&mu_);
  auto c = find_replica(name, expected_replica);
  if (!c.ok()) return c.status();
  auto parsed = parse_shard_replica_name(name);
  if (!parsed.ok()) return parsed.status();
  const auto winner = catalog_.resolve(parsed->collection);
  if (!winner.has_value() || winner->dropped || !region_members_.has_value() ||
      owns_shard_locked(winner->config, parsed->shard)) {
    return false;
  }
  // Writes commit under this lock: what still_safe sees is all the replica will ever have.
  if (!still_safe(*(*c)->replica)) return false;
  if (auto s = drop_local(name); !s.ok()) return s;
  bindings_.erase(name);
  if (auto s = persist_catalog(); !s.ok()) return s;
  return true;
}

absl::Status Node::drop_local(const std::string& name) {
  if (options_.before_collection_drop) options_.before_collection_drop(name);
  if (auto s = store_.drop_collection(name); !s.ok()) return s;
  auto it = collections_.find(name);
  if (it == collections_.end()) return absl::OkStatus();
  const SegmentFiles files = it->second->index.files();
  collections_.erase(it);  // stops its segment builder first
  remove_segment_files(files);
  return absl::OkStatus();
}

const CollectionConfig& Node::local_config(const std::string& name) const {
  return collections_.at(name)->stored.config;
}

std::vector<ReplicaAdvert> Node::local_replicas() const {
  AnnotatedReaderLock lock(&mu_);
  std::vector<ReplicaAdvert> out;
  for (const auto& [name, c] : collections_) {
    auto bound = bindings_.find(name);
    if (bound == bindings_.end()) continue;
    auto parsed = parse_shard_replica_name(name);
    if (!parsed.ok()) continue;  // not a name this node writes
    out.push_back({parsed->collection, bound->second, c->replica->replica_id(), parsed->shard});
  }
  return out;
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
  AnnotatedReleasableWriterLock lock(&mu_);
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
  return finish_local_write(lock, **c, collection, (*c)->replica->upsert(points));
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

absl::StatusOr<WriteOutcome> Node::finish_local_write(AnnotatedReleasableWriterLock& lock,
                                                      Collection& c, const std::string& collection,
                                                      absl::StatusOr<ReplicaWrite> write) {
  if (!write.ok()) return write.status();
  if (auto s = apply_to_index(c, *write); !s.ok()) return s;
  const uint64_t seq = write->log_seq;
  lock.Release();
  // Outside the lock: the replication layer may hand the seq to another thread, which reads back
  // through the node.
  if (seq != 0 && options_.on_local_commit) options_.on_local_commit(collection, seq);
  return WriteOutcome{write->applied, std::move(write->causal_token), seq};
}

absl::StatusOr<Node::Collection*> Node::find_replica(const std::string& name,
                                                     crdt::ReplicaId expected_replica) const {
  auto c = find(name);
  if (!c.ok()) return c.status();
  if (expected_replica != 0 && (*c)->replica->replica_id() != expected_replica) {
    return absl::NotFoundError(absl::StrCat("collection '", name, "' no longer holds replica ",
                                            expected_replica, " (dropped and re-created)"));
  }
  return c;
}

absl::Status Node::apply_remote(const std::string& collection, crdt::ReplicaId peer,
                                const crdt::PointSet& delta, std::optional<uint64_t> peer_seq,
                                crdt::ReplicaId expected_replica) {
  AnnotatedWriterLock lock(&mu_);
  auto c = find_replica(collection, expected_replica);
  if (!c.ok()) return c.status();
  // A peer's vectors are checked as a client's are: the index must accept every version that can
  // become a winner, and a delta is joined whole or not at all.
  const CollectionConfig& config = (*c)->stored.config;
  for (const auto& [key, record] : delta.records()) {
    for (const auto& version : record.vector_versions) {
      if (auto s = validate_vector(config, version.vector, "remote delta"); !s.ok()) return s;
    }
  }
  auto write = count_integrity((*c)->replica->apply_remote(peer, delta, peer_seq));
  if (!write.ok()) return write.status();
  return apply_to_index(**c, *write);
}

absl::StatusOr<crdt::ReplicaId> Node::replica_id(const std::string& collection) const {
  AnnotatedReaderLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return (*c)->replica->replica_id();
}

absl::StatusOr<uint64_t> Node::joined_through(const std::string& collection,
                                              crdt::ReplicaId peer) const {
  AnnotatedReaderLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return (*c)->replica->joined_through(peer);
}

absl::StatusOr<std::shared_ptr<CollectionReplica>> Node::replica(
    const std::string& collection) const {
  AnnotatedReaderLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return (*c)->replica;
}

absl::StatusOr<uint64_t> Node::trim_replication_log(const std::string& collection,
                                                    crdt::ReplicaId expected_replica) {
  AnnotatedWriterLock lock(&mu_);
  auto c = find_replica(collection, expected_replica);
  if (!c.ok()) return c.status();
  return (*c)->replica->trim_log();
}

absl::StatusOr<WriteOutcome> Node::remove(const std::string& collection,
                                          std::span<const PointId> ids) {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  AnnotatedReleasableWriterLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return finish_local_write(lock, **c, collection, (*c)->replica->remove(ids));
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
  AnnotatedReleasableWriterLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return finish_local_write(lock, **c, collection,
                            (*c)->replica->update_payload(ids, *fields, how));
}

absl::StatusOr<WriteOutcome> Node::delete_payload_keys(const std::string& collection,
                                                       std::span<const PointId> ids,
                                                       const std::vector<std::string>& keys) {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  if (keys.empty()) return absl::InvalidArgumentError("no payload keys given");
  AnnotatedReleasableWriterLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return finish_local_write(lock, **c, collection, (*c)->replica->delete_payload_keys(ids, keys));
}

absl::StatusOr<bool> Node::token_satisfied(const std::string& collection,
                                           std::string_view token) const {
  auto vv = crdt::decode_version_vector(token);
  if (!vv.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed consistency token: ", vv.status().message()));
  }
  AnnotatedReaderLock lock(&mu_);
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
  AnnotatedReaderLock lock(&mu_);
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
  // Await releases and re-takes the lock (shared) while it waits: tell TSan (annotated_lock.h).
  annotate_released(&mu_, false);
  const bool reached = mu_.AwaitWithTimeout(absl::Condition(&caught_up), wait);
  annotate_acquired(&mu_, false);
  if (!reached) return consistency_deadline_exceeded(wait);
  return found;
}

absl::StatusOr<std::vector<std::optional<storage::PointRecord>>> Node::get(
    const std::string& collection, std::span<const PointId> ids) const {
  if (auto s = validate_batch_size(ids.size(), "ids"); !s.ok()) return s;
  AnnotatedReaderLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return count_integrity(store_.get_points((*c)->stored.id, ids));
}

absl::StatusOr<uint64_t> Node::count(const std::string& collection) const {
  AnnotatedReaderLock lock(&mu_);
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
  AnnotatedReaderLock lock(&mu_);
  auto c = find(collection);
  if (!c.ok()) return c.status();
  return count_integrity(store_.scroll((*c)->stored.id, cursor, limit));
}

absl::StatusOr<std::vector<std::vector<SearchHit>>> Node::search(const std::string& collection,
                                                                 std::span<const float> queries,
                                                                 const SearchParams& params) const {
  if (auto s = validate_top_k(params.k); !s.ok()) return s;
  if (params.ef > kMaxHnswEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef = ", params.ef, " exceeds the limit of ", kMaxHnswEf));
  }
  if (params.nprobe > kMaxIvfNprobe) {
    return absl::InvalidArgumentError(
        absl::StrCat("nprobe = ", params.nprobe, " exceeds the limit of ", kMaxIvfNprobe));
  }
  std::optional<PayloadFilter> filter;
  if (!params.filter_json.empty()) {
    auto parsed = parse_payload_filter(params.filter_json);
    if (!parsed.ok()) return parsed.status();
    filter = *std::move(parsed);
  }
  // Shared: a search only reads the node's maps and the payload index (writers hold mu_
  // exclusively), and the collection's index synchronises its own segments (a reader-writer lock
  // of its own; builds publish under it), so searches run in parallel.
  AnnotatedReaderLock lock(&mu_);
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
                           : (*c)->index.search(queries, params.k, params.ef, params.nprobe);
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
  const bool exact = c.index.kind() == IndexKind::kIvfFlat || c.index.kind() == IndexKind::kIvfPq
                         ? prefer_exact_scan_ivf(matched.size(), c.index.size())
                         : prefer_exact_scan(matched.size(), c.index.size());
  if (c.index.approximate() && !exact) {
    MatchedLabels accepted(matched, c.next_label);
    const double fraction = static_cast<double>(matched.size()) /
                            static_cast<double>(std::max<size_t>(1, c.index.size()));
    return c.index.search(queries, params.k, params.ef, params.nprobe, &accepted, fraction);
  }
  // A flat index, or few matching points: score the matching points exactly, from the vectors
  // the index holds in memory (no sealed record is opened).
  return c.index.exact_search(queries, params.k, matched);
}

NodeStats Node::stats() const {
  AnnotatedReaderLock lock(&mu_);
  NodeStats s;
  for (const auto& [name, c] : collections_) {
    s.collections += name.find('@') == std::string::npos;  // shard 0 (or the only shard)
    s.points += c->index.size();
  }
  s.integrity_failures = integrity_failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace meridian::node
