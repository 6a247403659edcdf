// The causal context of a CRDT state or delta: every dot it has seen, kept as a version vector
// plus a "dot cloud" of the dots outside the vector's contiguous prefixes. Not thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "crdt/version_vector.h"

namespace meridian::crdt {

// Invariant (canonical form, so equal dot sets have equal representations): every cloud dot
// (r, n) has n > vv.get(r) + 1; the vector holds no zero entries.
class CausalContext {
 public:
  CausalContext() = default;

  // Builds a context from its parts; InvalidArgument when they are not in canonical form (used by
  // decoders, which must reject non-canonical input so that encodings stay canonical).
  static absl::StatusOr<CausalContext> from_parts(VersionVector vv, std::set<Dot> cloud);

  // True iff the context has seen `dot`.
  bool contains(const Dot& dot) const;
  // Adds one dot, then compacts. Returns true iff it was new.
  bool insert(const Dot& dot);
  // Unions `other` into this context. Returns true iff this context grew.
  bool merge(const CausalContext& other);
  // The next dot `replica` would mint: one past the highest of its counters seen here (in the
  // vector or the cloud), so a replica never mints a dot this context has already seen.
  Dot next_dot(ReplicaId replica) const;
  // The highest counter of `replica` seen here (0 when none).
  uint64_t max_counter(ReplicaId replica) const;

  const VersionVector& vv() const { return vv_; }
  const std::set<Dot>& cloud() const { return cloud_; }
  bool empty() const { return vv_.empty() && cloud_.empty(); }
  bool operator==(const CausalContext&) const = default;
  std::string debug_string() const;

 private:
  // Folds cloud dots of `replica` into the vector while they extend its prefix.
  void compact(ReplicaId replica);

  VersionVector vv_;
  std::set<Dot> cloud_;
};

}  // namespace meridian::crdt
