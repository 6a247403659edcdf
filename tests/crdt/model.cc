// The oracle model: deliberately brute force (recomputes everything from the op list each time).
#include "tests/crdt/model.h"

#include <algorithm>
#include <sstream>

namespace meridian::crdt::testing {

std::string vector_text(const std::vector<float>& v) {
  std::ostringstream out;
  for (float x : v) out << x << ' ';
  return out.str();
}

StateView view_of(const PointSet& set) {
  StateView view;
  for (const auto& [id, record] : set.records()) {
    RecordView& r = view[id];
    for (const VectorVersion& v : record.vector_versions) {
      r.vector_writes.emplace(v.hlc, v.dot.replica, vector_text(v.vector));
    }
    for (const auto& [name, versions] : record.fields) {
      for (const FieldVersion& v : versions) {
        r.field_writes[name].emplace(v.hlc, v.dot.replica, v.json);
      }
    }
  }
  return view;
}

std::string to_string(const StateView& view) {
  std::ostringstream out;
  for (const auto& [id, r] : view) {
    out << "  " << id << ": vector{";
    for (const auto& [hlc, replica, value] : r.vector_writes) {
      out << "(" << hlc.physical_ms << "." << hlc.logical << "@" << replica << " " << value << ")";
    }
    out << "}";
    for (const auto& [name, writes] : r.field_writes) {
      out << " " << name << "{";
      for (const auto& [hlc, replica, value] : writes) {
        out << "(" << hlc.physical_ms << "." << hlc.logical << "@" << replica << " " << value
            << ")";
      }
      out << "}";
    }
    out << "\n";
  }
  return out.str();
}

std::set<OracleModel::Tag> OracleModel::survivors(const std::set<int>& known,
                                                  const PointId& id) const {
  std::set<Tag> adds, removed;
  for (int i : known) {
    const Op& op = ops_[i];
    removed.insert(op.removes.begin(), op.removes.end());
    if (op.id != id) continue;
    if (op.kind == OpKind::kUpsert) adds.insert(Tag{i, std::nullopt});
    if (op.kind == OpKind::kUpsert || op.kind == OpKind::kSetPayload ||
        op.kind == OpKind::kOverwritePayload) {
      for (const auto& [name, json] : op.fields) adds.insert(Tag{i, name});
    }
  }
  std::set<Tag> out;
  for (const Tag& t : adds) {
    if (!removed.contains(t)) out.insert(t);
  }
  return out;
}

std::optional<int> OracleModel::write(std::set<int>& known, OpKind kind, ReplicaId replica,
                                      const PointId& id, HlcTimestamp hlc,
                                      std::vector<float> vector, PayloadFields fields,
                                      std::vector<std::string> keys) {
  const std::set<Tag> live = survivors(known, id);
  bool visible = false;
  for (const Tag& t : live) visible |= !t.second.has_value();
  Op op{kind, replica, id, hlc, std::move(vector), std::move(fields), std::move(keys), {}};
  switch (kind) {
    case OpKind::kUpsert:
      op.removes = live;
      break;
    case OpKind::kRemove:
      if (live.empty()) return std::nullopt;
      op.removes = live;
      break;
    case OpKind::kSetPayload:
    case OpKind::kOverwritePayload:
    case OpKind::kDeletePayloadKeys:
      if (!visible) return std::nullopt;
      for (const Tag& t : live) {
        if (!t.second.has_value()) continue;
        const bool named =
            kind == OpKind::kSetPayload ? op.fields.contains(*t.second)
            : kind == OpKind::kDeletePayloadKeys
                ? std::find(op.keys.begin(), op.keys.end(), *t.second) != op.keys.end()
                : true;
        if (named) op.removes.insert(t);
      }
      break;
  }
  ops_.push_back(std::move(op));
  known.insert(static_cast<int>(ops_.size()) - 1);
  return static_cast<int>(ops_.size()) - 1;
}

StateView OracleModel::view(const std::set<int>& known) const {
  std::set<PointId> ids;
  for (int i : known) ids.insert(ops_[i].id);
  StateView view;
  for (const PointId& id : ids) {
    const std::set<Tag> live = survivors(known, id);
    if (live.empty()) continue;
    RecordView& r = view[id];
    for (const auto& [index, field] : live) {
      const Op& op = ops_[index];
      if (!field.has_value()) {
        r.vector_writes.emplace(op.hlc, op.replica, vector_text(op.vector));
      } else {
        r.field_writes[*field].emplace(op.hlc, op.replica, op.fields.at(*field));
      }
    }
  }
  return view;
}

}  // namespace meridian::crdt::testing
