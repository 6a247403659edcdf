// The hand-off decision for a shard replica its node no longer owns (docs/sharding.md, "Moving
// shards"): the replica may be retired only when every owner of the shard in the region is
// reachable and is known to hold everything the replica holds. A pure function of what the
// replication sessions report, so it is tested without processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crdt/causal_context.h"
#include "crdt/version_vector.h"

namespace meridian::node {

// What the retiring replica knows of one owner of its shard.
struct OwnerProgress {
  std::string node_id;
  bool up = false;              // membership hears of it
  crdt::ReplicaId replica = 0;  // its replica of the shard (0: it advertises none yet)
  bool connected = false;       // our replication session with that replica is established
  uint64_t acked_seq = 0;       // the seq of our delta log it durably joined
  crdt::VersionVector vv;       // its causal token as of its last Hello or Exchange
};

// An owner that does not hold everything yet, and why (for status and logs).
struct LaggingOwner {
  std::string node_id;
  std::string reason;
  friend bool operator==(const LaggingOwner&, const LaggingOwner&) = default;
};

struct HandoffDecision {
  bool retire = false;                // every owner is reachable and caught up
  bool owners_reachable = false;      // every owner is up, has a replica and is connected
  std::vector<LaggingOwner> lagging;  // the owners that are not caught up, in `owners` order
};

// Whether `owner` holds every dot of `ours` (the retiring replica's causal context): its version
// vector includes every dot of ours, except the owner replica's own dots (it minted them, so it
// has them even when the token we heard from it is older than our copy of them).
bool covers(const OwnerProgress& owner, const crdt::CausalContext& ours);

// The decision for a replica whose causal context is `ours` and whose delta log ends at
// `our_last_seq`, given its shard's owners in the region. An owner is caught up when it is up,
// has a replica, is connected, and either acknowledged our whole log or covers() our context.
// No owners (not expected with a replication factor): keep the replica.
HandoffDecision decide_handoff(const crdt::CausalContext& ours, uint64_t our_last_seq,
                               const std::vector<OwnerProgress>& owners);

}  // namespace meridian::node
