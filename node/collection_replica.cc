// One collection's CRDT replica; see collection_replica.h.
#include "node/collection_replica.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "crdt/point_set_codec.h"
#include "node/payload_fields.h"

namespace meridian::node {
namespace {

// The highest physical time of any version in `state`: a clock resumed without its persisted
// bound starts above it, so new writes win LWW against everything already held.
uint64_t max_physical_ms(const crdt::PointSet& state) {
  uint64_t out = 0;
  for (const auto& [id, record] : state.records()) {
    for (const auto& v : record.vector_versions) out = std::max(out, v.hlc.physical_ms);
    for (const auto& [name, versions] : record.fields) {
      for (const auto& v : versions) out = std::max(out, v.hlc.physical_ms);
    }
  }
  return out;
}

}  // namespace

CollectionReplica::CollectionReplica(storage::Store& store, uint32_t collection_id,
                                     const ReplicaEnv& env, crdt::PointReplica replica,
                                     uint64_t hlc_bound_ms, crdt::DeltaLog log,
                                     uint64_t persisted_horizon,
                                     std::map<crdt::ReplicaId, uint64_t> joined)
    : store_(store),
      collection_id_(collection_id),
      env_(env),
      replica_(std::move(replica)),
      clock_(crdt::HybridLogicalClock::restore(env.hlc, &hlc_stats_, hlc_bound_ms)),
      log_(std::move(log)),
      persisted_horizon_(persisted_horizon),
      joined_(std::move(joined)) {}

absl::StatusOr<CollectionReplica::LoadedLog> CollectionReplica::read_log(
    const storage::Store& store, uint32_t collection_id, uint64_t next_seq,
    const CorruptVisitor& on_corrupt) {
  bool skipped = false;
  auto report = [&](const absl::Status& error) {
    skipped = true;
    if (on_corrupt) on_corrupt(error);
  };
  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  std::vector<std::pair<uint64_t, crdt::PointSet>> entries;
  auto s = store.for_each_log_entry(
      collection_id,
      [&](uint64_t seq, std::string&& bytes) {
        lowest = std::min(lowest, seq);
        auto delta = crdt::decode_point_set(bytes);
        if (!delta.ok()) {
          report(absl::Status(delta.status().code(), absl::StrCat("delta-log entry ", seq, ": ",
                                                                  delta.status().message())));
        } else if (seq < next_seq) {
          entries.emplace_back(seq, *std::move(delta));
        }
        return absl::OkStatus();
      },
      report);
  if (!s.ok()) return s;
  // Keep the run of consecutive seqs that ends at next_seq - 1: a delta behind a gap could not be
  // sent as part of a contiguous interval, so everything up to the gap counts as compacted (a
  // peer that still lacks it gets a full state).
  size_t first = entries.size();
  uint64_t expected = next_seq - 1;
  while (first > 0 && entries[first - 1].first == expected) {
    --first;
    --expected;
  }
  LoadedLog out{crdt::DeltaLog(expected + 1), 0};
  for (size_t i = first; i < entries.size(); ++i) out.log.append(std::move(entries[i].second));
  if (skipped) {
    out.persisted_horizon = 0;  // unknown: the next trim scans from the collection's first entry
  } else if (lowest == std::numeric_limits<uint64_t>::max()) {
    out.persisted_horizon = out.log.horizon();
  } else {
    out.persisted_horizon = std::min(lowest - 1, out.log.horizon());
  }
  return out;
}

absl::StatusOr<CollectionReplica::Loaded> CollectionReplica::read_state(
    const storage::Store& store, uint32_t collection_id, const CorruptVisitor& on_corrupt) {
  Loaded loaded;
  std::vector<std::pair<crdt::PointId, crdt::PointRecord>> slices;
  auto s = store.for_each_crdt_slice(
      collection_id,
      [&](const PointId& id, std::string&& bytes) {
        auto slice = crdt::decode_point_slice(bytes);
        if (slice.ok() && slice->first != crdt_id_of(id)) {
          slice = absl::DataLossError("slice names another point id");
        }
        if (!slice.ok()) {
          absl::Status error(
              slice.status().code(),
              absl::StrCat("crdt slice of point ", id.to_string(), ": ", slice.status().message()));
          if (!on_corrupt) return error;
          on_corrupt(error);
          return absl::OkStatus();
        }
        slices.push_back(*std::move(slice));
        return absl::OkStatus();
      },
      on_corrupt);
  if (!s.ok()) return s;
  loaded.slices = slices.size();

  crdt::CausalContext context;
  auto causal = store.read_causal(collection_id);
  if (!causal.ok()) {
    if (!on_corrupt) return causal.status();
    on_corrupt(causal.status());
  } else if (causal->has_value()) {
    auto decoded = crdt::decode_causal_context((*causal)->context);
    if (decoded.ok()) {
      context = *std::move(decoded);
      loaded.causal = **causal;
    } else if (!on_corrupt) {
      return decoded.status();
    } else {
      on_corrupt(decoded.status());
    }
  }
  // Every stored version's dot belongs to the context; re-adding them repairs a context that was
  // lost (the replica then takes a fresh id, see load()).
  for (const auto& [id, record] : slices) {
    for (const auto& v : record.vector_versions) context.insert(v.dot);
    for (const auto& [name, versions] : record.fields) {
      for (const auto& v : versions) context.insert(v.dot);
    }
  }
  auto state = crdt::assemble_point_set(std::move(context), std::move(slices));
  if (!state.ok()) return state.status();
  loaded.state = *std::move(state);
  return loaded;
}

absl::StatusOr<std::unique_ptr<CollectionReplica>> CollectionReplica::load(
    storage::Store& store, uint32_t collection_id, const ReplicaEnv& env,
    const CorruptVisitor& on_corrupt) {
  auto loaded = read_state(store, collection_id, on_corrupt);
  if (!loaded.ok()) return loaded.status();
  // A joined-through record that fails to open only costs a resend: the peer streams again from
  // an earlier seq (joining twice is harmless).
  std::map<crdt::ReplicaId, uint64_t> joined;
  if (auto read = store.read_joined_through(collection_id); read.ok()) {
    joined = *std::move(read);
  } else if (!on_corrupt) {
    return read.status();
  } else {
    on_corrupt(read.status());
  }
  if (loaded->causal) {
    const storage::CausalRecord& c = *loaded->causal;
    auto log = read_log(store, collection_id, c.next_log_seq, on_corrupt);
    if (!log.ok()) return log.status();
    return std::unique_ptr<CollectionReplica>(new CollectionReplica(
        store, collection_id, env, crdt::PointReplica::resume(c.replica_id, loaded->state),
        c.hlc_bound_ms, std::move(log->log), log->persisted_horizon, std::move(joined)));
  }
  // Log entries stored under a lost identity are numbered in another replica's log: drop them so
  // they are never mistaken for entries of the fresh one.
  if (auto trimmed = store.trim_log(collection_id, std::numeric_limits<uint64_t>::max());
      !trimmed.ok()) {
    return trimmed.status();
  }

  // No replica id stored: a new collection, one from before the CRDT, or a copy whose causal
  // record was lost. Mint a fresh id so no dot an older incarnation issued is ever reused.
  absl::StatusOr<crdt::PointReplica> replica = absl::InternalError("no replica id minted");
  for (int attempt = 0; attempt < 8 && !replica.ok(); ++attempt) {
    const crdt::ReplicaId fresh = env.mint_replica_id();
    if (fresh != 0) replica = crdt::PointReplica::restore_as(fresh, loaded->state);
  }
  if (!replica.ok()) return replica.status();
  const bool had_state = !loaded->state.records().empty() || !loaded->state.context().empty();
  const uint64_t bound = had_state ? max_physical_ms(loaded->state) + 1 : 0;
  crdt::DeltaLog log(had_state ? 2 : 1);
  const uint64_t horizon = log.horizon();
  std::unique_ptr<CollectionReplica> out(
      new CollectionReplica(store, collection_id, env, *std::move(replica), bound, std::move(log),
                            horizon, std::move(joined)));

  // Import the `points` view when the CRDT holds nothing (a collection from before the CRDT).
  std::vector<storage::PointRecord> legacy;
  if (loaded->slices == 0) {
    auto s = store.for_each_point(
        collection_id,
        [&](storage::PointRecord&& record, size_t) {
          legacy.push_back(std::move(record));
          return absl::OkStatus();
        },
        on_corrupt);
    if (!s.ok()) return s;
  }
  if (!legacy.empty()) {
    auto imported = out->upsert(legacy);
    if (!imported.ok()) return imported.status();
  } else {
    // Persist the new identity now, so a restart resumes it rather than minting another.
    auto persisted = out->commit({}, {});
    if (!persisted.ok()) return persisted.status();
  }
  return out;
}

crdt::HlcTimestamp CollectionReplica::now() { return clock_.now(env_.physical_clock_ms()); }

absl::StatusOr<ReplicaWrite> CollectionReplica::upsert(
    std::span<const storage::PointRecord> points) {
  std::vector<crdt::PointSet> deltas;
  std::vector<crdt::PointId> touched;
  deltas.reserve(points.size());
  for (const storage::PointRecord& p : points) {
    auto fields = split_payload(p.payload_json);
    if (!fields.ok()) return fields.status();
    touched.push_back(crdt_id_of(p.id));
    deltas.push_back(replica_.upsert(touched.back(), p.vector, *fields, now()));
  }
  return commit(std::move(deltas), touched);
}

absl::StatusOr<ReplicaWrite> CollectionReplica::remove(std::span<const PointId> ids) {
  std::vector<crdt::PointSet> deltas;
  std::vector<crdt::PointId> touched;
  for (const PointId& id : ids) {
    crdt::PointId key = crdt_id_of(id);
    auto delta = replica_.remove(key);
    if (delta.status().code() == absl::StatusCode::kNotFound) continue;
    if (!delta.ok()) return delta.status();
    touched.push_back(std::move(key));
    deltas.push_back(*std::move(delta));
  }
  return commit(std::move(deltas), touched);
}

absl::StatusOr<ReplicaWrite> CollectionReplica::update_payload(std::span<const PointId> ids,
                                                               const crdt::PayloadFields& fields,
                                                               PayloadUpdate how) {
  std::vector<crdt::PointSet> deltas;
  std::vector<crdt::PointId> touched;
  for (const PointId& id : ids) {
    crdt::PointId key = crdt_id_of(id);
    auto delta = how == PayloadUpdate::kMerge ? replica_.set_payload(key, fields, now())
                                              : replica_.overwrite_payload(key, fields, now());
    if (delta.status().code() == absl::StatusCode::kNotFound) continue;
    if (!delta.ok()) return delta.status();
    touched.push_back(std::move(key));
    deltas.push_back(*std::move(delta));
  }
  return commit(std::move(deltas), touched);
}

absl::StatusOr<ReplicaWrite> CollectionReplica::delete_payload_keys(
    std::span<const PointId> ids, const std::vector<std::string>& keys) {
  std::vector<crdt::PointSet> deltas;
  std::vector<crdt::PointId> touched;
  for (const PointId& id : ids) {
    crdt::PointId key = crdt_id_of(id);
    auto delta = replica_.delete_payload_keys(key, keys);
    if (delta.status().code() == absl::StatusCode::kNotFound) continue;
    if (!delta.ok()) return delta.status();
    touched.push_back(std::move(key));
    deltas.push_back(*std::move(delta));
  }
  return commit(std::move(deltas), touched);
}

absl::StatusOr<ReplicaWrite> CollectionReplica::commit(std::vector<crdt::PointSet> deltas,
                                                       const std::vector<crdt::PointId>& touched) {
  std::optional<crdt::PointSet> joined;
  if (!deltas.empty()) {
    joined = std::move(deltas.front());
    for (size_t i = 1; i < deltas.size(); ++i) joined->join(deltas[i]);
  }
  return commit_change(std::move(joined), touched, std::nullopt);
}

absl::StatusOr<ReplicaWrite> CollectionReplica::apply_remote(crdt::ReplicaId peer,
                                                             const crdt::PointSet& delta,
                                                             std::optional<uint64_t> peer_seq) {
  // Check before joining: a delta is all or nothing.
  uint64_t max_physical = 0;
  for (const auto& [key, record] : delta.records()) {
    if (!point_id_of(key).ok()) {
      return absl::InvalidArgumentError("remote delta holds a malformed point id");
    }
    for (const auto& [name, versions] : record.fields) {
      for (const auto& v : versions) {
        if (!nlohmann::json::accept(v.json)) {
          return absl::InvalidArgumentError(
              absl::StrCat("remote delta holds payload field '", name, "' that is not JSON"));
        }
        max_physical = std::max(max_physical, v.hlc.physical_ms);
      }
    }
    for (const auto& v : record.vector_versions) {
      max_physical = std::max(max_physical, v.hlc.physical_ms);
    }
  }

  // The join reports the ids whose records gained or lost a version (new writes, and versions an
  // observed remove took away), without scanning the state.
  std::vector<crdt::PointId> touched;
  const bool changed = replica_.apply(delta, &touched);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  std::optional<std::pair<crdt::ReplicaId, uint64_t>> joined;
  if (peer_seq && *peer_seq > joined_through(peer)) joined.emplace(peer, *peer_seq);
  if (!changed && !joined) {
    ReplicaWrite nothing;
    nothing.causal_token = causal_token();
    return nothing;
  }
  // Keep the clock ahead of what it has seen (a refused, too-far-ahead time is counted in the
  // clock's stats and otherwise ignored: the delta is still joined).
  if (max_physical != 0) {
    (void)clock_.update(crdt::HlcTimestamp{max_physical, 0}, env_.physical_clock_ms());
  }
  return commit_change(changed ? std::optional<crdt::PointSet>(delta) : std::nullopt, touched,
                       joined);
}

absl::StatusOr<ReplicaWrite> CollectionReplica::commit_change(
    std::optional<crdt::PointSet> delta, const std::vector<crdt::PointId>& touched,
    std::optional<std::pair<crdt::ReplicaId, uint64_t>> joined) {
  ReplicaWrite result;
  storage::CrdtWrite write;
  // The entry is appended to log_ only once the commit succeeded, so a failed commit leaves the
  // log (and the peers the replicator registered in it) as it was.
  if (delta) {
    write.log_seq = log_.last_seq() + 1;
    write.log_delta = crdt::encode_point_set(*delta);
  }
  // Without retention (no peers) every entry is stable at once, the new one included; with it,
  // the stored log follows the in-memory one, which the replicator compacts after acks.
  const uint64_t compact_through =
      env_.retain_delta_log ? log_.horizon() : std::max(write.log_seq, log_.last_seq());
  if (compact_through > persisted_horizon_) write.log_compact_through = compact_through;
  if (joined)
    write.joined_through = storage::CrdtWrite::JoinedThrough{joined->first, joined->second};

  std::set<crdt::PointId> unique(touched.begin(), touched.end());
  result.applied = static_cast<uint32_t>(unique.size());
  for (const crdt::PointId& key : unique) {
    auto id = point_id_of(key);
    if (!id.ok()) return id.status();
    const crdt::PointRecord* record = replica_.state().find(key);
    write.slices.emplace_back(
        *id,
        record ? std::optional<std::string>(crdt::encode_point_slice(key, *record)) : std::nullopt);
    if (record != nullptr && record->visible()) {
      crdt::PointValue value = crdt::PointSet::value_of(*record);
      write.put_points.push_back(
          storage::PointRecord{*id, std::move(value.vector), join_payload(value.payload)});
    } else {
      write.delete_points.push_back(*id);
    }
  }
  if (clock_.needs_reservation()) clock_.reserve();
  const uint64_t last_seq = delta ? write.log_seq : log_.last_seq();
  write.causal =
      storage::CausalRecord{replica_.id(), crdt::encode_causal_context(replica_.state().context()),
                            clock_.reserved_until_ms(), last_seq + 1};
  auto committed = store_.commit_crdt_write(collection_id_, write);
  if (!committed.ok()) {
    if (auto s = reload(); !s.ok()) {
      return absl::Status(committed.status().code(),
                          absl::StrCat(committed.status().message(),
                                       "; reloading the replica also failed: ", s.message()));
    }
    return committed.status();
  }
  if (delta) {
    [[maybe_unused]] const uint64_t seq = log_.append(*std::move(delta));
    assert(seq == write.log_seq);
    result.log_seq = write.log_seq;
  }
  if (!env_.retain_delta_log) log_.compact();
  persisted_horizon_ = std::max(persisted_horizon_, write.log_compact_through);
  if (joined) joined_[joined->first] = joined->second;
  result.stored_bytes_delta = committed->stored_bytes_delta;
  result.upserted = std::move(write.put_points);
  result.removed = std::move(write.delete_points);
  result.causal_token = causal_token();
  return result;
}

absl::Status CollectionReplica::reload() {
  // Only the state can be ahead of the store: log entries and joined-through marks are recorded in
  // memory after their commit succeeded.
  auto loaded = read_state(store_, collection_id_, nullptr);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->causal) {  // nothing committed under this id yet
    replica_ = crdt::PointReplica(replica_.id());
    return absl::OkStatus();
  }
  replica_ = crdt::PointReplica::resume(loaded->causal->replica_id, std::move(loaded->state));
  return absl::OkStatus();
}

uint64_t CollectionReplica::joined_through(crdt::ReplicaId peer) const {
  auto it = joined_.find(peer);
  return it == joined_.end() ? 0 : it->second;
}

absl::StatusOr<uint64_t> CollectionReplica::trim_log() {
  const uint64_t horizon = log_.horizon();
  if (horizon <= persisted_horizon_) return 0;
  auto trimmed = store_.trim_log(collection_id_, horizon);
  if (!trimmed.ok()) return trimmed.status();
  persisted_horizon_ = horizon;
  return trimmed;
}

bool CollectionReplica::dominates(const crdt::VersionVector& token) const {
  return replica_.causal_token().dominates(token);
}

std::string CollectionReplica::causal_token() const {
  return crdt::encode_version_vector(replica_.causal_token());
}

std::string CollectionReplica::digest_hex() const {
  return crdt::to_hex(crdt::digest(replica_.state()));
}

}  // namespace meridian::node
