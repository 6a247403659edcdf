// A naive oracle for the points CRDT (CONVENTIONS: "a naive set-of-tagged-adds model"): every
// write is a tagged add, every remove lists the tags it observed, and a replica's state is the
// tags of the writes it knows minus those removed by any write it knows.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "crdt/point_set.h"

namespace meridian::crdt::testing {

// A surviving write of one register as both the model and the CRDT can describe it:
// (hlc, writer replica, value). Unique per write because each replica's HLC strictly increases.
using WriteKey = std::tuple<HlcTimestamp, ReplicaId, std::string>;
struct RecordView {
  std::set<WriteKey> vector_writes;
  std::map<std::string, std::set<WriteKey>> field_writes;
  bool operator==(const RecordView&) const = default;
};
using StateView = std::map<PointId, RecordView>;

std::string vector_text(const std::vector<float>& v);
// The view of a CRDT state (every record, orphans included).
StateView view_of(const PointSet& set);
std::string to_string(const StateView& view);

enum class OpKind { kUpsert, kRemove, kSetPayload, kOverwritePayload, kDeletePayloadKeys };

class OracleModel {
 public:
  // A write tag: (op index, field name; nullopt for the vector register).
  using Tag = std::pair<int, std::optional<std::string>>;
  struct Op {
    OpKind kind;
    ReplicaId replica;
    PointId id;
    HlcTimestamp hlc;
    std::vector<float> vector;
    PayloadFields fields;
    std::vector<std::string> keys;
    std::set<Tag> removes;
  };

  // Applies a write at a replica that knows `known`; returns the op index, or nullopt when the
  // CRDT must answer NotFound. Adds the op to `known`.
  std::optional<int> write(std::set<int>& known, OpKind kind, ReplicaId replica, const PointId& id,
                           HlcTimestamp hlc, std::vector<float> vector, PayloadFields fields,
                           std::vector<std::string> keys);
  StateView view(const std::set<int>& known) const;
  size_t op_count() const { return ops_.size(); }

 private:
  // Surviving tags of `id` among the writes in `known`.
  std::set<Tag> survivors(const std::set<int>& known, const PointId& id) const;
  std::vector<Op> ops_;
};

}  // namespace meridian::crdt::testing
