// Runs the seeded replication simulation. MERIDIAN_REPL_SIM_SEED=<n> replays one seed verbosely;
// MERIDIAN_REPL_SIM_SEEDS=<count> and MERIDIAN_REPL_SIM_FIRST_SEED=<n> choose the range.
#include "tests/replication/simulator.h"

#include <gtest/gtest.h>

#include <cstdlib>

// The slow build sets more seeds and its own suite name (distinct ctest names).
#ifndef MERIDIAN_REPL_SIM_DEFAULT_SEEDS
#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer slows the simulation about 25-fold; keep the CI run inside its time limit.
#define MERIDIAN_REPL_SIM_DEFAULT_SEEDS 20
#else
#define MERIDIAN_REPL_SIM_DEFAULT_SEEDS 200
#endif
#endif
#ifndef MERIDIAN_REPL_SIM_SUITE
#define MERIDIAN_REPL_SIM_SUITE ReplicationSimulationTest
#endif

namespace meridian::replication::testing {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr ? fallback : std::strtoull(value, nullptr, 10);
}

TEST(MERIDIAN_REPL_SIM_SUITE, SeedsConverge) {
  if (std::getenv("MERIDIAN_REPL_SIM_SEED") != nullptr) {
    const uint64_t seed = env_or("MERIDIAN_REPL_SIM_SEED", 0);
    const SimulationResult r = run_simulation(seed, {.verbose = true});
    EXPECT_TRUE(r.ok) << "seed " << seed << ": " << r.failure;
    return;
  }
  const uint64_t first = env_or("MERIDIAN_REPL_SIM_FIRST_SEED", 1);
  const uint64_t count = env_or("MERIDIAN_REPL_SIM_SEEDS", MERIDIAN_REPL_SIM_DEFAULT_SEEDS);
  SimulationResult total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const SimulationResult r = run_simulation(seed, {});
    ASSERT_TRUE(r.ok) << "seed " << seed << " failed: " << r.failure
                      << "\nreplay: MERIDIAN_REPL_SIM_SEED=" << seed;
    total.writes += r.writes;
    total.dropped += r.dropped;
    total.duplicated += r.duplicated;
    total.partitions += r.partitions;
    total.crashes += r.crashes;
    total.full_states_received += r.full_states_received;
    total.chunks += r.chunks;
    total.compacted += r.compacted;
    total.reconnects += r.reconnects;
    total.retransmits += r.retransmits;
  }
  // The runs must have exercised the faults and mechanisms they claim to.
  EXPECT_GT(total.writes, 0u);
  EXPECT_GT(total.dropped, 0u);
  EXPECT_GT(total.duplicated, 0u);
  EXPECT_GT(total.partitions, 0u);
  EXPECT_GT(total.crashes, 0u);
  EXPECT_GT(total.full_states_received, 0u);
  EXPECT_GT(total.compacted, 0u);
  EXPECT_GT(total.reconnects, 0u);
  EXPECT_GT(total.retransmits, 0u);
}

TEST(MERIDIAN_REPL_SIM_SUITE, LaggingReplicaGetsFullStateThenConverges) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const SimulationResult r = run_simulation(seed, {.steps = 800, .force_lagging_replica = true});
    ASSERT_TRUE(r.ok) << "seed " << seed << " failed: " << r.failure;
    EXPECT_GT(r.full_states_received, 0u);
  }
}

TEST(MERIDIAN_REPL_SIM_SUITE, SameSeedSameRun) {
  const SimulationResult a = run_simulation(7, {});
  const SimulationResult b = run_simulation(7, {});
  EXPECT_EQ(a.digest_hex, b.digest_hex);
  EXPECT_EQ(a.delivered, b.delivered);
  EXPECT_EQ(a.converged_at_ms, b.converged_at_ms);
}

}  // namespace
}  // namespace meridian::replication::testing
