// A seeded, deterministic in-process simulation of 3-5 replicas of one shard driven through their
// ShardReplicators: simulated network (delay, reorder, duplicate, drop, partitions that heal),
// crashes with restart from encoded state, compaction, full-state transfers. One seed replays a
// run.
#pragma once

#include <cstdint>
#include <string>

namespace meridian::replication::testing {

struct SimulationOptions {
  int steps = 400;       // random actions (writes, faults) before the healing phase
  bool verbose = false;  // print every event (for replaying a failing seed)
  // Crash one replica early and keep it down for a long time while the others write and compact,
  // so that it must be caught up by a full-state transfer.
  bool force_lagging_replica = false;
};

struct SimulationResult {
  bool ok = true;
  std::string failure;  // what went wrong, when !ok
  // Counters, to show the run exercised what it claims to.
  uint64_t writes = 0, delivered = 0, dropped = 0, duplicated = 0, partitions = 0, crashes = 0,
           full_state_transfers = 0, full_states_received = 0, chunks = 0, compacted = 0,
           reconnects = 0, retransmits = 0;
  int64_t converged_at_ms = 0;  // simulated time of convergence
  std::string digest_hex;
};

// Runs one simulation. Deterministic: the same seed and options give the same result.
SimulationResult run_simulation(uint64_t seed, const SimulationOptions& options);

}  // namespace meridian::replication::testing
