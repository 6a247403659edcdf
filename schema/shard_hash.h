// The stable hash that assigns a point to a shard (docs/sharding.md, "The point hash"), shared by
// the node (routing, placement) and the client (sending writes straight to a shard's holders).
// Identical on every platform and release for a given kShardHashVersion.
#pragma once

#include <cstdint>
#include <string_view>

#include "schema/types.h"

namespace meridian {

// The version of stable_hash() / shard_of(); the shard map names it so that a client routing by
// itself can refuse a map it cannot compute.
inline constexpr uint32_t kShardHashVersion = 1;

// Version 1: FNV-1a 64 over `bytes`, then the SplitMix64 finaliser (FNV's low bits are weak and
// `% shard_count` reads them).
uint64_t stable_hash(std::string_view bytes);

// The shard of `id` in a collection of `shard_count` shards (0 when shard_count <= 1):
// stable_hash(kind byte (0 number, 1 UUID) | u64 big-endian, or the 16 UUID bytes) % shard_count.
uint32_t shard_of(const PointId& id, uint32_t shard_count);

}  // namespace meridian
