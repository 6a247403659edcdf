// A seeded, deterministic single-process simulation of 3-5 point-set replicas: simulated network
// (reorder, duplicate, drop), skewed clocks, restarts from encoded state, restores from old backups
// under fresh ids, delta-log anti-entropy with compaction. One seed replays a run exactly.
#pragma once

#include <cstdint>
#include <string>

namespace meridian::crdt::testing {

struct SimulationOptions {
  int steps = 1000;
  bool verbose = false;  // print every event (for replaying a failing seed)
};

struct SimulationResult {
  bool ok = true;
  std::string failure;  // what went wrong, when !ok
  // Counters, to show the run exercised what it claims to.
  uint64_t writes = 0, delivered = 0, dropped = 0, duplicated = 0, rejected_clock = 0, restarts = 0,
           restores = 0, full_states = 0, compacted = 0;
  std::string digest_hex;
};

// Runs one simulation. Deterministic: the same seed and options give the same result.
SimulationResult run_simulation(uint64_t seed, const SimulationOptions& options);

}  // namespace meridian::crdt::testing
