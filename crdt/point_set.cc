// Point-set join and reads. The join is the dot-kernel join of the delta-state OR-map, organised
// so that its cost follows the size of the delta, not of the state: removals are found by looking
// the delta's context up in a dot index instead of scanning every record.
#include "crdt/point_set.h"

#include <algorithm>
#include <cassert>

namespace meridian::crdt {
namespace {

template <typename Version>
void insert_sorted(std::vector<Version>& versions, Version version) {
  auto pos = std::lower_bound(versions.begin(), versions.end(), version.dot,
                              [](const Version& v, const Dot& dot) { return v.dot < dot; });
  versions.insert(pos, std::move(version));
}

template <typename Version>
void erase_dot(std::vector<Version>& versions, const Dot& dot) {
  auto pos = std::lower_bound(versions.begin(), versions.end(), dot,
                              [](const Version& v, const Dot& d) { return v.dot < d; });
  assert(pos != versions.end() && pos->dot == dot);
  versions.erase(pos);
}

template <typename Version>
const Version& lww_winner(const std::vector<Version>& versions) {
  return *std::max_element(versions.begin(), versions.end(), lww_less<Version>);
}

}  // namespace

bool PointSet::join(const PointSet& delta, std::vector<PointId>* touched) {
  bool changed = false;

  // Case: a version held here only, whose dot the delta has seen. The delta's writer observed
  // this write and removed it (or replaced it); the removal survives, the version goes.
  // Case: a version held here only, whose dot the delta has not seen: concurrent or newer than
  // anything the delta knows, so it survives (this is what makes adds win).
  std::vector<Dot> removed;
  for (const auto& [replica, counter] : delta.context_.vv().entries()) {
    for (auto it = dot_index_.lower_bound(Dot{replica, 1});
         it != dot_index_.end() && it->first.replica == replica && it->first.counter <= counter;
         ++it) {
      if (!delta.dot_index_.contains(it->first)) removed.push_back(it->first);
    }
  }
  for (const Dot& dot : delta.context_.cloud()) {
    if (dot_index_.contains(dot) && !delta.dot_index_.contains(dot)) removed.push_back(dot);
  }
  if (touched != nullptr) {
    for (const Dot& dot : removed) touched->push_back(dot_index_.at(dot).id);
  }
  for (const Dot& dot : removed) remove_version(dot);
  changed |= !removed.empty();

  // Case: a version held by the delta only, whose dot this state has not seen: a new write, it
  // survives. Case: held by the delta only but its dot was seen here: this state removed it
  // already, so it stays removed (no resurrection). Case: held by both (same dot, same write):
  // kept as is. The context test covers the last two, since every held dot is in the context.
  for (const auto& [id, record] : delta.records_) {
    for (const VectorVersion& version : record.vector_versions) {
      if (context_.contains(version.dot)) continue;
      add_vector_version(id, version);
      if (touched != nullptr) touched->push_back(id);
      changed = true;
    }
    for (const auto& [field, versions] : record.fields) {
      for (const FieldVersion& version : versions) {
        if (context_.contains(version.dot)) continue;
        add_field_version(id, field, version);
        if (touched != nullptr) touched->push_back(id);
        changed = true;
      }
    }
  }

  // Contexts last: joined earlier, they would hide the delta's new versions from the test above.
  changed |= context_.merge(delta.context_);
  return changed;
}

std::optional<PointValue> PointSet::get(std::string_view id) const {
  const PointRecord* record = find(id);
  if (record == nullptr || !record->visible()) return std::nullopt;
  return value_of(*record);
}

const PointRecord* PointSet::find(std::string_view id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

PointValue PointSet::value_of(const PointRecord& record) {
  const VectorVersion& winner = lww_winner(record.vector_versions);
  PointValue value{winner.vector, winner.hlc, winner.dot, {}};
  for (const auto& [field, versions] : record.fields) {
    value.payload.emplace(field, lww_winner(versions).json);
  }
  return value;
}

void PointSet::add_vector_version(const PointId& id, VectorVersion version) {
  auto it = records_.try_emplace(id).first;
  const bool was_visible = it->second.visible();
  dot_index_.emplace(version.dot, RegisterRef{id, std::nullopt});
  insert_sorted(it->second.vector_versions, std::move(version));
  settle(it, was_visible);
}

void PointSet::add_field_version(const PointId& id, const std::string& field,
                                 FieldVersion version) {
  auto it = records_.try_emplace(id).first;
  const bool was_visible = it->second.visible();
  dot_index_.emplace(version.dot, RegisterRef{id, field});
  insert_sorted(it->second.fields[field], std::move(version));
  settle(it, was_visible);
}

void PointSet::remove_version(const Dot& dot) {
  auto ref = dot_index_.find(dot);
  assert(ref != dot_index_.end());
  auto it = records_.find(ref->second.id);
  assert(it != records_.end());
  const bool was_visible = it->second.visible();
  if (!ref->second.field.has_value()) {
    erase_dot(it->second.vector_versions, dot);
  } else {
    auto field = it->second.fields.find(*ref->second.field);
    assert(field != it->second.fields.end());
    erase_dot(field->second, dot);
    if (field->second.empty()) it->second.fields.erase(field);
  }
  dot_index_.erase(ref);
  settle(it, was_visible);
}

void PointSet::settle(std::map<PointId, PointRecord, std::less<>>::iterator it, bool was_visible) {
  const bool is_visible = it->second.visible();
  if (is_visible && !was_visible) ++visible_count_;
  if (!is_visible && was_visible) --visible_count_;
  if (it->second.empty()) records_.erase(it);
}

}  // namespace meridian::crdt
