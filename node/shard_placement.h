// Where a shard lives: the rendezvous (highest-random-weight) placement of a shard on the nodes
// of one region. Pure functions of their arguments, identical on every node, platform and version
// (docs/sharding.md fixes the hash), so every node computes the same owners from the same
// membership. The point hash itself is schema/shard_hash.h (the client needs it too).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schema/shard_hash.h"  // shard_of, stable_hash
#include "schema/types.h"

namespace meridian::node {

// The rendezvous weight of `node_id` for shard `shard` of `collection`: stable_hash of
// node_id | 0x00 | collection | 0x00 | shard u32 big-endian.
uint64_t placement_score(std::string_view node_id, std::string_view collection, uint32_t shard);

// The owners of shard `shard` of `collection` among `region_nodes` (the known nodes of one
// region, down ones included so a brief failure moves nothing): the `replication_factor` nodes
// with the highest placement_score (ties by node id), best first; every node (in score order)
// when replication_factor is 0 or at least their number. Duplicate node ids count once.
//
// Adding a node to `region_nodes` changes any shard's owner set only by putting the new node in
// place of at most one old owner: a shard never moves between two old nodes.
std::vector<std::string> shard_owners(std::string_view collection, uint32_t shard,
                                      std::span<const std::string> region_nodes,
                                      uint32_t replication_factor);

// The shards of a `shard_count`-shard collection that `node_id` owns among `region_nodes`
// (which should include it), in shard order.
std::vector<uint32_t> owned_shards(std::string_view collection, uint32_t shard_count,
                                   std::string_view node_id,
                                   std::span<const std::string> region_nodes,
                                   uint32_t replication_factor);

}  // namespace meridian::node
