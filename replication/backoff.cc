// Exponential backoff with equal jitter. The ceiling is computed by repeated multiplication with a
// clamp, so large attempt counts never overflow.
#include "replication/backoff.h"

#include <algorithm>

namespace meridian::replication {

int64_t Backoff::ceiling_ms() const {
  int64_t ceiling = std::max<int64_t>(policy_.initial_ms, 1);
  const int64_t max_ms = std::max(policy_.max_ms, ceiling);
  for (int i = 0; i < attempts_ && ceiling < max_ms; ++i) {
    ceiling = ceiling > max_ms / std::max(policy_.multiplier, 1)
                  ? max_ms
                  : ceiling * std::max(policy_.multiplier, 1);
  }
  return std::min(ceiling, max_ms);
}

int64_t Backoff::next_delay_ms(uint64_t random) {
  const int64_t ceiling = ceiling_ms();
  ++attempts_;
  const int64_t fixed = ceiling / 2;
  const uint64_t span = static_cast<uint64_t>(ceiling - fixed) + 1;
  return fixed + static_cast<int64_t>(random % span);
}

}  // namespace meridian::replication
