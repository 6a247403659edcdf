// The points CRDT: an add-wins observed-remove map (delta-state OR-map, no tombstones) from point
// id to a point made of an LWW vector register and per-field LWW payload registers.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crdt/causal_context.h"
#include "crdt/hlc.h"
#include "crdt/version_vector.h"

namespace meridian::crdt {

// Opaque bytes (the node encodes uint64 or UUID ids); ordered bytewise.
using PointId = std::string;
// Top-level payload field name -> JSON text of its value. The CRDT never parses the JSON.
using PayloadFields = std::map<std::string, std::string>;

// One write of a register, tagged with the dot of the write. Two versions with the same dot are
// the same write. Versions of one register are ordered for LWW by (hlc, dot.replica,
// dot.counter): a total order, the same on every replica.
struct VectorVersion {
  Dot dot;
  HlcTimestamp hlc;
  std::vector<float> vector;
};
struct FieldVersion {
  Dot dot;
  HlcTimestamp hlc;
  std::string json;
};

template <typename Version>
bool lww_less(const Version& a, const Version& b) {
  if (a.hlc != b.hlc) return a.hlc < b.hlc;
  return a.dot < b.dot;
}

// The CRDT state of one point id. Each register holds every version not yet observed-removed,
// sorted by dot: concurrent writes survive side by side (an MV-register) and reads pick the LWW
// winner. The point exists iff its vector register is non-empty. Field versions can outlive the
// vector register (a set_payload concurrent with a delete): such "orphan" fields are hidden from
// reads and removed by the next upsert or delete of the id that observes them.
struct PointRecord {
  std::vector<VectorVersion> vector_versions;
  std::map<std::string, std::vector<FieldVersion>> fields;  // no empty lists

  bool visible() const { return !vector_versions.empty(); }
  bool empty() const { return vector_versions.empty() && fields.empty(); }
};

// What a reader sees of one existing point.
struct PointValue {
  std::vector<float> vector;
  HlcTimestamp hlc;  // of the winning vector write
  Dot dot;           // of the winning vector write
  PayloadFields payload;
};

// A point-set state, and equally a delta (a delta is a small state; a full state merges as a
// delta). Invariants: every version's dot is in context(); no dot tags two versions. The only way
// state changes is join(); local writes are made by PointReplica, which builds a delta and joins
// it. Value type; not thread-safe.
class PointSet {
 public:
  PointSet() = default;

  // Lattice join: commutative, associative, idempotent. A version survives iff both sides hold
  // it, or one side holds it and the other has not seen its dot (add-wins: a remove only removes
  // dots it observed). Contexts are joined last. Returns true iff this state changed.
  // When `touched` is given, the ids whose record gained or lost a version are appended to it
  // (possibly more than once): exactly the ids the join changed, found without a scan.
  bool join(const PointSet& delta, std::vector<PointId>* touched = nullptr);

  // The current value of `id`, or nullopt when it does not exist (absent or only orphan fields).
  std::optional<PointValue> get(std::string_view id) const;
  // The raw CRDT record of `id` (including siblings and orphans), or null.
  const PointRecord* find(std::string_view id) const;
  // Number of existing (visible) points.
  size_t size() const { return visible_count_; }
  // Calls fn(id, value) for every existing point in id order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [id, record] : records_) {
      if (record.visible()) fn(id, value_of(record));
    }
  }

  // Every record, orphans included, in id order (for encoders and tests).
  const std::map<PointId, PointRecord, std::less<>>& records() const { return records_; }
  const CausalContext& context() const { return context_; }
  // Total number of versions held (metadata accounting).
  size_t version_count() const { return dot_index_.size(); }

  static PointValue value_of(const PointRecord& record);

 private:
  friend class PointReplica;
  friend absl::StatusOr<PointSet> decode_point_set(std::string_view bytes);
  friend absl::StatusOr<PointSet> assemble_point_set(
      CausalContext context, std::vector<std::pair<PointId, PointRecord>> slices);

  // Where a dot lives: the point id and the field (nullopt: the vector register).
  struct RegisterRef {
    PointId id;
    std::optional<std::string> field;
  };

  // Builders; callers keep the invariants (the dot must be new here and put in the context).
  void add_vector_version(const PointId& id, VectorVersion version);
  void add_field_version(const PointId& id, const std::string& field, FieldVersion version);
  void remove_version(const Dot& dot);
  // Adjusts visible_count_ after `record` changed from `was_visible`; erases empty records.
  void settle(std::map<PointId, PointRecord, std::less<>>::iterator it, bool was_visible);

  std::map<PointId, PointRecord, std::less<>> records_;
  CausalContext context_;
  std::map<Dot, RegisterRef> dot_index_;
  size_t visible_count_ = 0;
};

}  // namespace meridian::crdt
