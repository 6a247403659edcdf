// Pieces of a point-set state for chunked full-state transfer: id-range slices filtered by a
// snapshot context, the closing delta that applies the snapshot's removals, and context-only sets.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crdt/causal_context.h"
#include "crdt/point_set.h"

namespace meridian::replication {

using RecordMap = std::map<crdt::PointId, crdt::PointRecord, std::less<>>;

// Builds the point set (records, context). crdt::PointSet has no public constructor from parts, so
// this writes the crdt codec's canonical bytes and decodes them; the decoder checks every
// invariant (InvalidArgument when a version's dot is outside `context`, or records are empty).
absl::StatusOr<crdt::PointSet> assemble_point_set(const RecordMap& records,
                                                  const crdt::CausalContext& context);

// A point set with no records and context `context`: how a snapshot context travels.
absl::StatusOr<crdt::PointSet> context_only(const crdt::CausalContext& context);

// One chunk of a full-state transfer.
struct StateSlice {
  crdt::PointSet records;   // the versions, context = exactly their dots (joining it only adds)
  std::string next_cursor;  // first id after the chunk's range (meaningless when last)
  bool last = false;        // no ids remain at or after next_cursor
};

// The records of `state` with id >= cursor, keeping only versions whose dots `snapshot` contains,
// in id order, stopping once about `max_bytes` are taken (at least one record when any remains).
// A slice joined into any replica only adds writes that were in the sender's state, so it is safe
// on its own; the snapshot's removals come with closing_delta().
absl::StatusOr<StateSlice> slice_state(const crdt::PointSet& state,
                                       const crdt::CausalContext& snapshot, std::string_view cursor,
                                       size_t max_bytes);

// The delta that finishes a full-state transfer at the receiver: the receiver's versions whose dots
// are in `received` (everything the slices delivered and it still holds), with context `snapshot`.
// Joining it drops exactly the receiver's versions that the sender had seen (snapshot) and no
// longer held; it never drops a write the snapshot had not seen.
absl::StatusOr<crdt::PointSet> closing_delta(const crdt::PointSet& state,
                                             const std::set<crdt::Dot>& received,
                                             const crdt::CausalContext& snapshot);

// Every version dot of `set`, in order.
std::set<crdt::Dot> version_dots(const crdt::PointSet& set);

// An estimate of the encoded size of one record (for chunk budgets).
size_t approximate_size(std::string_view id, const crdt::PointRecord& record);

}  // namespace meridian::replication
