// Hybrid logical clock (Kulkarni et al.): physical milliseconds plus a logical counter, monotonic
// across restarts through a persisted upper bound, refusing remote times too far in the future.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace meridian::crdt {

// A point in hybrid logical time. Ordered lexicographically by (physical_ms, logical); ties
// between replicas are broken by the caller (by replica id) to get a total order of writes.
struct HlcTimestamp {
  uint64_t physical_ms = 0;
  uint32_t logical = 0;
  auto operator<=>(const HlcTimestamp&) const = default;
};

std::string to_string(const HlcTimestamp& ts);

struct HlcOptions {
  // A remote timestamp more than this far ahead of local physical time is refused.
  uint64_t max_offset_ms = 500;
  // How far beyond the latest issued time a reservation reaches. A restarted clock resumes at the
  // reserved bound, so keep this below max_offset_ms or peers may refuse its first timestamps.
  uint64_t reservation_window_ms = 200;
};

// Counters owned by the caller (a metrics object), updated by the clock it is passed to.
struct HlcStats {
  uint64_t remote_accepted = 0;
  uint64_t remote_rejected = 0;    // remote timestamps refused as too far ahead
  uint64_t physical_backward = 0;  // physical time read lower than an earlier reading
};

// Not thread-safe. Time is always passed in (physical_ms from the node's injected clock), so the
// clock itself never reads the system time.
class HybridLogicalClock {
 public:
  // A fresh clock. `stats` must outlive the clock and is never null.
  HybridLogicalClock(HlcOptions options, HlcStats* stats);

  // A clock restarted from `persisted_bound_ms`, a value returned by reserve() and durably stored
  // before the timestamps it covers were. Every later timestamp exceeds every earlier one.
  static HybridLogicalClock restore(HlcOptions options, HlcStats* stats,
                                    uint64_t persisted_bound_ms);

  // Timestamp for a local event (a write) at physical time `physical_ms`; strictly greater than
  // every timestamp this clock issued or received before.
  HlcTimestamp now(uint64_t physical_ms);

  // Receives a remote timestamp. Returns the timestamp of the receive event, strictly greater than
  // both `remote` and every earlier one. OutOfRange (clock unchanged, stats.remote_rejected
  // counted) when remote.physical_ms > physical_ms + max_offset_ms.
  absl::StatusOr<HlcTimestamp> update(const HlcTimestamp& remote, uint64_t physical_ms);

  // The latest timestamp issued or received.
  HlcTimestamp last() const { return last_; }

  // Durability: every timestamp issued so far has physical_ms < reserved_until_ms() once the
  // value returned by reserve() is persisted. needs_reservation() says whether timestamps were
  // issued at or beyond the bound; the caller then calls reserve() and persists the result in the
  // same transaction as (or before) the first write that carries such a timestamp.
  bool needs_reservation() const { return last_.physical_ms >= reserved_until_ms_; }
  uint64_t reserve();
  uint64_t reserved_until_ms() const { return reserved_until_ms_; }

 private:
  HlcTimestamp advance_past(HlcTimestamp floor, uint64_t physical_ms) const;
  void observe_physical(uint64_t physical_ms);

  HlcOptions options_;
  HlcStats* stats_;
  HlcTimestamp last_;
  uint64_t last_physical_ms_ = 0;
  uint64_t reserved_until_ms_ = 0;
};

}  // namespace meridian::crdt
