// Local writes of the points CRDT as delta-mutators: each builds the smallest state that, joined
// into the current one, performs the write, then joins it (join stays the only state change).
#include "crdt/point_replica.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace meridian::crdt {
namespace {

absl::Status not_found(const PointId& id) {
  return absl::NotFoundError(absl::StrCat("no point with id of ", id.size(), " bytes"));
}

}  // namespace

PointReplica PointReplica::resume(ReplicaId id, PointSet state) {
  return PointReplica(id, std::move(state));
}

absl::StatusOr<PointReplica> PointReplica::restore_as(ReplicaId fresh_id, PointSet state) {
  if (state.context().max_counter(fresh_id) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("replica id ", fresh_id, " already minted dots in the restored state"));
  }
  return PointReplica(fresh_id, std::move(state));
}

void PointReplica::observe_removal(const PointRecord& record, bool with_vector,
                                   const std::vector<std::string>* fields, PointSet& delta) {
  // A removal is a delta with the removed dots in its context and no versions: joined anywhere,
  // it drops exactly those versions and nothing written concurrently.
  if (with_vector) {
    for (const VectorVersion& version : record.vector_versions) delta.context_.insert(version.dot);
  }
  auto remove_field = [&](const std::vector<FieldVersion>& versions) {
    for (const FieldVersion& version : versions) delta.context_.insert(version.dot);
  };
  if (fields == nullptr) {
    for (const auto& [name, versions] : record.fields) remove_field(versions);
  } else {
    for (const std::string& name : *fields) {
      auto it = record.fields.find(name);
      if (it != record.fields.end()) remove_field(it->second);
    }
  }
}

Dot PointReplica::mint(PointSet& delta) {
  // The next dot after everything this replica minted, as seen by the state and by the delta
  // being built (which may already hold dots minted for this write).
  Dot dot = state_.context().next_dot(id_);
  const Dot in_delta = delta.context_.next_dot(id_);
  if (in_delta.counter > dot.counter) dot = in_delta;
  delta.context_.insert(dot);
  return dot;
}

void PointReplica::write_fields(const PointId& id, const PayloadFields& fields, HlcTimestamp ts,
                                PointSet& delta) {
  // One dot per field written: each field is its own register, so that a later write of one
  // field can remove exactly that field's version (a dot shared by registers could not be).
  for (const auto& [name, json] : fields) {
    const Dot dot = mint(delta);
    delta.add_field_version(id, name, FieldVersion{dot, ts, json});
  }
}

PointSet PointReplica::commit(PointSet delta) {
  state_.join(delta);
  return delta;
}

PointSet PointReplica::upsert(const PointId& id, std::vector<float> vector,
                              const PayloadFields& payload, HlcTimestamp ts) {
  PointSet delta;
  if (const PointRecord* record = state_.find(id)) {
    observe_removal(*record, /*with_vector=*/true, nullptr, delta);
  }
  const Dot dot = mint(delta);
  delta.add_vector_version(id, VectorVersion{dot, ts, std::move(vector)});
  write_fields(id, payload, ts, delta);
  return commit(std::move(delta));
}

absl::StatusOr<PointSet> PointReplica::remove(const PointId& id) {
  const PointRecord* record = state_.find(id);
  if (record == nullptr) return not_found(id);
  PointSet delta;
  observe_removal(*record, /*with_vector=*/true, nullptr, delta);
  return commit(std::move(delta));
}

absl::StatusOr<PointSet> PointReplica::set_payload(const PointId& id, const PayloadFields& fields,
                                                   HlcTimestamp ts) {
  const PointRecord* record = state_.find(id);
  if (record == nullptr || !record->visible()) return not_found(id);
  PointSet delta;
  std::vector<std::string> names;
  for (const auto& [name, json] : fields) names.push_back(name);
  observe_removal(*record, /*with_vector=*/false, &names, delta);
  write_fields(id, fields, ts, delta);
  return commit(std::move(delta));
}

absl::StatusOr<PointSet> PointReplica::overwrite_payload(const PointId& id,
                                                         const PayloadFields& fields,
                                                         HlcTimestamp ts) {
  const PointRecord* record = state_.find(id);
  if (record == nullptr || !record->visible()) return not_found(id);
  PointSet delta;
  observe_removal(*record, /*with_vector=*/false, nullptr, delta);
  write_fields(id, fields, ts, delta);
  return commit(std::move(delta));
}

absl::StatusOr<PointSet> PointReplica::delete_payload_keys(const PointId& id,
                                                           const std::vector<std::string>& keys) {
  const PointRecord* record = state_.find(id);
  if (record == nullptr || !record->visible()) return not_found(id);
  PointSet delta;
  observe_removal(*record, /*with_vector=*/false, &keys, delta);
  return commit(std::move(delta));
}

}  // namespace meridian::crdt
