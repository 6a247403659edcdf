// Delta log. Entries are a contiguous run of seqs, so the horizon is implied by the count; a peer
// acknowledged below the horizon is exactly a peer that lacks a compacted delta.
#include "crdt/delta_log.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace meridian::crdt {

DeltaLog::DeltaLog(uint64_t next_seq) : next_seq_(std::max<uint64_t>(next_seq, 1)) {}

uint64_t DeltaLog::append(PointSet delta) {
  entries_.push_back(std::move(delta));
  return next_seq_++;
}

void DeltaLog::add_peer(ReplicaId peer, uint64_t acked) {
  acked_.try_emplace(peer, std::min(acked, last_seq()));
}

void DeltaLog::remove_peer(ReplicaId peer) { acked_.erase(peer); }

absl::Status DeltaLog::acknowledge(ReplicaId peer, uint64_t seq) {
  auto it = acked_.find(peer);
  if (it == acked_.end()) return absl::NotFoundError(absl::StrCat("unknown peer ", peer));
  if (seq > last_seq()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ack of seq ", seq, " beyond last seq ", last_seq()));
  }
  it->second = std::max(it->second, seq);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DeltaLog::acked(ReplicaId peer) const {
  auto it = acked_.find(peer);
  if (it == acked_.end()) return absl::NotFoundError(absl::StrCat("unknown peer ", peer));
  return it->second;
}

absl::StatusOr<OutgoingDeltas> DeltaLog::deltas_since(ReplicaId peer) const {
  auto it = acked_.find(peer);
  if (it == acked_.end()) return absl::NotFoundError(absl::StrCat("unknown peer ", peer));
  OutgoingDeltas out;
  out.through_seq = last_seq();
  const uint64_t acked = it->second;
  if (acked >= last_seq()) return out;
  if (acked < horizon()) {
    // Some delta the peer lacks was compacted away (or lost in a restart): only a full state
    // is sure to cover it.
    out.kind = OutgoingDeltas::Kind::kFullState;
    return out;
  }
  out.kind = OutgoingDeltas::Kind::kDeltas;
  for (size_t i = acked - horizon(); i < entries_.size(); ++i) out.delta.join(entries_[i]);
  return out;
}

absl::StatusOr<PointSet> DeltaLog::deltas_between(uint64_t after, uint64_t through) const {
  if (after < horizon() || through > last_seq() || after >= through) {
    return absl::FailedPreconditionError(absl::StrCat("no deltas (", after, ", ", through,
                                                      "] in a log holding (", horizon(), ", ",
                                                      last_seq(), "]"));
  }
  PointSet out;
  for (uint64_t seq = after + 1; seq <= through; ++seq) out.join(entries_[seq - horizon() - 1]);
  return out;
}

uint64_t DeltaLog::interval_end(uint64_t after, size_t max_points) const {
  uint64_t through = after + 1;
  size_t points = std::max<size_t>(1, entries_[after - horizon()].size());
  while (through < last_seq()) {
    const size_t next = std::max<size_t>(1, entries_[through - horizon()].size());
    if (points + next > max_points) break;
    points += next;
    ++through;
  }
  return through;
}

uint64_t DeltaLog::stable_seq() const {
  uint64_t stable = last_seq();
  for (const auto& [peer, acked] : acked_) stable = std::min(stable, acked);
  return stable;
}

size_t DeltaLog::compact() {
  // Only deltas every known peer acknowledged go; a peer added later starts at 0 and therefore
  // gets a full state, which covers them.
  size_t dropped = 0;
  const uint64_t stable = stable_seq();
  while (!entries_.empty() && horizon() < stable) {
    entries_.pop_front();
    ++dropped;
  }
  return dropped;
}

}  // namespace meridian::crdt
