// Full-state slicing. The encoder below mirrors crdt::encode_point_set (docs/crdt.md, kind 1) for
// arbitrary (records, context) pairs, because crdt/ exposes no builder; decode_point_set then
// validates the result, so a mistake here becomes an error rather than a broken invariant.
#include "replication/state_slice.h"

#include <sodium.h>

#include <array>
#include <bit>

#include "absl/status/status.h"
#include "crdt/internal/byte_io.h"
#include "crdt/point_set_codec.h"

namespace meridian::replication {
namespace {

using crdt::internal::ByteWriter;

void put_dot(ByteWriter& w, const crdt::Dot& dot) {
  w.put_fixed64(dot.replica);
  w.put_varint(dot.counter);
}
void put_hlc(ByteWriter& w, const crdt::HlcTimestamp& ts) {
  w.put_varint(ts.physical_ms);
  w.put_varint(ts.logical);
}

std::string encode_parts(const RecordMap& records, const crdt::CausalContext& context) {
  ByteWriter w;
  w.put_raw("MCRD");
  w.put_u8(crdt::kCrdtFormatVersion);
  w.put_u8(1);  // kind: point set
  w.put_varint(context.vv().entries().size());
  for (const auto& [replica, counter] : context.vv().entries()) {
    put_dot(w, crdt::Dot{replica, counter});
  }
  w.put_varint(context.cloud().size());
  for (const crdt::Dot& dot : context.cloud()) put_dot(w, dot);
  w.put_varint(records.size());
  for (const auto& [id, record] : records) {
    w.put_bytes(id);
    w.put_varint(record.vector_versions.size());
    for (const crdt::VectorVersion& v : record.vector_versions) {
      put_dot(w, v.dot);
      put_hlc(w, v.hlc);
      w.put_varint(v.vector.size());
      for (float x : v.vector) w.put_fixed32(std::bit_cast<uint32_t>(x));
    }
    w.put_varint(record.fields.size());
    for (const auto& [name, versions] : record.fields) {
      w.put_bytes(name);
      w.put_varint(versions.size());
      for (const crdt::FieldVersion& v : versions) {
        put_dot(w, v.dot);
        put_hlc(w, v.hlc);
        w.put_bytes(v.json);
      }
    }
  }
  std::array<uint8_t, 16> sum{};
  crypto_generichash(sum.data(), sum.size(),
                     reinterpret_cast<const unsigned char*>(w.buffer().data()), w.buffer().size(),
                     nullptr, 0);
  w.put_raw(std::string_view(reinterpret_cast<const char*>(sum.data()), 8));
  return std::move(w.buffer());
}

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
  auto set = crdt::decode_point_set(encode_parts(records, context));
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
