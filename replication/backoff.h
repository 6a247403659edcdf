// Reconnect delays: exponential backoff with "equal jitter", drawn from the caller's random
// numbers so that a seeded simulation replays them exactly.
#pragma once

#include <cstdint>

namespace meridian::replication {

struct BackoffPolicy {
  int64_t initial_ms = 100;  // the ceiling of the first delay
  int64_t max_ms = 30'000;   // no ceiling grows beyond this
  int multiplier = 2;
};

// Not thread-safe; value type. The n-th delay (n = 0, 1, ...) after a reset has ceiling
// c = min(max_ms, initial_ms * multiplier^n) and lies in [c / 2, c]: half is fixed so peers do
// not hammer a recovering node, half is random so peers that lost it together do not return in
// lock step.
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy) : policy_(policy) {}

  // The next delay; `random` is any uniformly distributed 64-bit value.
  int64_t next_delay_ms(uint64_t random);
  // The ceiling the next call will use.
  int64_t ceiling_ms() const;
  // After a successful session: the next delay starts from the first ceiling again.
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  BackoffPolicy policy_;
  int attempts_ = 0;
};

}  // namespace meridian::replication
