// Dots (one event of one replica), dot ranges and version vectors: the causal bookkeeping that
// every Meridian CRDT shares. Value types; not thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace meridian::crdt {

// A replica incarnation. Never reused, not even by a replica restored from a backup.
using ReplicaId = uint64_t;

// One event of one replica: the `counter`-th event that replica `replica` minted. Counters start at
// 1; a dot with counter 0 is never minted.
struct Dot {
  ReplicaId replica = 0;
  uint64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
};

// The dots (replica, first..last) inclusive, first <= last.
struct DotRange {
  ReplicaId replica = 0;
  uint64_t first = 0;
  uint64_t last = 0;
  auto operator<=>(const DotRange&) const = default;
};

std::string to_string(const Dot& dot);

// A map replica -> counter summarising, per replica, the contiguous prefix of dots 1..counter.
// Replicas at 0 are not stored, so two equal vectors have equal entries().
class VersionVector {
 public:
  VersionVector() = default;

  // The highest contiguous counter of `replica` (0 when none).
  uint64_t get(ReplicaId replica) const;
  // True iff dot.counter <= get(dot.replica).
  bool includes(const Dot& dot) const;
  // Raises the entry of dot.replica to at least dot.counter (a vector only records prefixes:
  // callers that may see gaps use CausalContext instead).
  void include(const Dot& dot);
  // Pointwise maximum.
  void merge(const VersionVector& other);
  // True iff this >= other pointwise.
  bool dominates(const VersionVector& other) const;
  // True iff neither vector dominates the other.
  bool concurrent(const VersionVector& other) const;
  // The dots this vector includes and `peer` lacks, one range per replica, in replica order.
  std::vector<DotRange> difference(const VersionVector& peer) const;

  const std::map<ReplicaId, uint64_t>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  bool operator==(const VersionVector&) const = default;
  std::string debug_string() const;

 private:
  std::map<ReplicaId, uint64_t> entries_;
};

// The pointwise minimum of two vectors (a replica missing from either is 0 and dropped).
VersionVector pointwise_min(const VersionVector& a, const VersionVector& b);

}  // namespace meridian::crdt
