// Full-state slicing: cutting a state into id-range chunks and reassembling (records, context)
// pairs through crdt::assemble_point_set, which validates every invariant.
#include "replication/state_slice.h"

#include "absl/status/status.h"
#include "crdt/point_set_codec.h"

namespace meridian::replication {
namespace {

// The part of `record` whose version dots satisfy `keep`; empty when none.
template <typename Keep>
crdt::PointRecord filter_record(const crdt::PointRecord& record, Keep&& keep) {
  crdt::PointRecord out;
  for (const auto& v : record.vector_versions) {
    if (keep(v.dot)) out.vector_versions.push_back(v);
  }
  for (const auto& [name, versions] : record.fields) {
    std::vector<crdt::FieldVersion> kept;
    for (const auto& v : versions) {
      if (keep(v.dot)) kept.push_back(v);
    }
    if (!kept.empty()) out.fields.emplace(name, std::move(kept));
  }
  return out;
}

void collect_dots(const crdt::PointRecord& record, std::set<crdt::Dot>& dots) {
  for (const auto& v : record.vector_versions) dots.insert(v.dot);
  for (const auto& [name, versions] : record.fields) {
    for (const auto& v : versions) dots.insert(v.dot);
  }
}

}  // namespace

absl::StatusOr<crdt::PointSet> assemble_point_set(const RecordMap& records,
                                                  const crdt::CausalContext& context) {
  std::vector<std::pair<crdt::PointId, crdt::PointRecord>> slices(records.begin(), records.end());
  auto set = crdt::assemble_point_set(context, std::move(slices));
  if (!set.ok()) return absl::InvalidArgumentError(set.status().message());
  return set;
}

absl::StatusOr<crdt::PointSet> context_only(const crdt::CausalContext& context) {
  return assemble_point_set(RecordMap{}, context);
}

size_t approximate_size(std::string_view id, const crdt::PointRecord& record) {
  size_t bytes = id.size() + 4;
  for (const auto& v : record.vector_versions) bytes += 24 + 4 * v.vector.size();
  for (const auto& [name, versions] : record.fields) {
    bytes += name.size() + 2;
    for (const auto& v : versions) bytes += 24 + v.json.size();
  }
  return bytes;
}

absl::StatusOr<StateSlice> slice_state(const crdt::PointSet& state,
                                       const crdt::CausalContext& snapshot, std::string_view cursor,
                                       size_t max_bytes) {
  RecordMap taken;
  std::set<crdt::Dot> dots;
  size_t bytes = 0;
  auto it = state.records().lower_bound(cursor);
  for (; it != state.records().end(); ++it) {
    if (!taken.empty() && bytes >= max_bytes) break;
    // Versions the snapshot has not seen are newer than the transfer; they reach the peer as
    // ordinary deltas after it, and leaving them out keeps every slice under the snapshot.
    crdt::PointRecord part =
        filter_record(it->second, [&](const crdt::Dot& d) { return snapshot.contains(d); });
    if (part.empty()) continue;
    bytes += approximate_size(it->first, part);
    collect_dots(part, dots);
    taken.emplace(it->first, std::move(part));
  }
  StateSlice slice;
  slice.last = it == state.records().end();
  if (!slice.last) slice.next_cursor = it->first;
  crdt::CausalContext context;
  for (const crdt::Dot& d : dots) context.insert(d);
  auto records = assemble_point_set(taken, context);
  if (!records.ok()) return records.status();
  slice.records = *std::move(records);
  return slice;
}

absl::StatusOr<crdt::PointSet> closing_delta(const crdt::PointSet& state,
                                             const std::set<crdt::Dot>& received,
                                             const crdt::CausalContext& snapshot) {
  RecordMap kept;
  for (const auto& [id, record] : state.records()) {
    crdt::PointRecord part = filter_record(
        record, [&](const crdt::Dot& d) { return received.contains(d) && snapshot.contains(d); });
    if (!part.empty()) kept.emplace(id, std::move(part));
  }
  return assemble_point_set(kept, snapshot);
}

std::set<crdt::Dot> version_dots(const crdt::PointSet& set) {
  std::set<crdt::Dot> dots;
  for (const auto& [id, record] : set.records()) collect_dots(record, dots);
  return dots;
}

}  // namespace meridian::replication
