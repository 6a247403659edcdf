// Hybrid logical clock. now() and update() are the paper's send and receive rules, written as
// "the smallest timestamp above a floor, and at or above physical time".
#include "crdt/hlc.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace meridian::crdt {

std::string to_string(const HlcTimestamp& ts) {
  return absl::StrCat(ts.physical_ms, ".", ts.logical);
}

HybridLogicalClock::HybridLogicalClock(HlcOptions options, HlcStats* stats)
    : options_(options), stats_(stats) {}

HybridLogicalClock HybridLogicalClock::restore(HlcOptions options, HlcStats* stats,
                                               uint64_t persisted_bound_ms) {
  HybridLogicalClock clock(options, stats);
  // Every timestamp issued before the restart had physical_ms < bound, so (bound, 0) is above all
  // of them and the next now() returns something larger still.
  clock.last_ = HlcTimestamp{persisted_bound_ms, 0};
  clock.reserved_until_ms_ = persisted_bound_ms;
  return clock;
}

HlcTimestamp HybridLogicalClock::advance_past(HlcTimestamp floor, uint64_t physical_ms) const {
  // Kulkarni et al.: l := max(l, pt); c := (l unchanged) ? c + 1 : 0. The logical counter is
  // bounded in practice; should it ever saturate we borrow a millisecond rather than wrap.
  if (physical_ms > floor.physical_ms) return HlcTimestamp{physical_ms, 0};
  if (floor.logical == std::numeric_limits<uint32_t>::max()) {
    return HlcTimestamp{floor.physical_ms + 1, 0};
  }
  return HlcTimestamp{floor.physical_ms, floor.logical + 1};
}

void HybridLogicalClock::observe_physical(uint64_t physical_ms) {
  if (physical_ms < last_physical_ms_) ++stats_->physical_backward;
  last_physical_ms_ = std::max(last_physical_ms_, physical_ms);
}

HlcTimestamp HybridLogicalClock::now(uint64_t physical_ms) {
  observe_physical(physical_ms);
  last_ = advance_past(last_, physical_ms);
  return last_;
}

absl::StatusOr<HlcTimestamp> HybridLogicalClock::update(const HlcTimestamp& remote,
                                                        uint64_t physical_ms) {
  observe_physical(physical_ms);
  // Comparison written to avoid overflow of physical_ms + max_offset_ms.
  if (remote.physical_ms > physical_ms &&
      remote.physical_ms - physical_ms > options_.max_offset_ms) {
    ++stats_->remote_rejected;
    return absl::OutOfRangeError(absl::StrCat("remote hlc ", to_string(remote), " is more than ",
                                              options_.max_offset_ms, " ms ahead of ",
                                              physical_ms));
  }
  ++stats_->remote_accepted;
  // Receive rule: the result exceeds both the local and the remote timestamp; max() of the two
  // then advance_past gives exactly the paper's four cases.
  last_ = advance_past(std::max(last_, remote), physical_ms);
  return last_;
}

uint64_t HybridLogicalClock::reserve() {
  reserved_until_ms_ =
      std::max(reserved_until_ms_, last_.physical_ms + options_.reservation_window_ms + 1);
  return reserved_until_ms_;
}

}  // namespace meridian::crdt
