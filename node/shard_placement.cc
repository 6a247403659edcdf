// Stable hashing and rendezvous placement of shards; see shard_placement.h. Changing anything
// here moves data between nodes of a running cluster: bump kShardHashVersion and document it.
#include "node/shard_placement.h"

#include <algorithm>
#include <set>
#include <utility>

namespace meridian::node {
namespace {

void put_u64_be(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put_u32_be(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

}  // namespace

uint64_t stable_hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;  // FNV-1a 64 prime
  }
  // SplitMix64 finaliser: every input bit reaches every output bit.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

uint32_t shard_of(const PointId& id, uint32_t shard_count) {
  if (shard_count <= 1) return 0;
  std::string bytes;
  if (id.is_number()) {
    bytes.push_back(0);
    put_u64_be(bytes, id.as_number());
  } else {
    bytes.push_back(1);
    bytes.append(reinterpret_cast<const char*>(id.as_uuid().data()), id.as_uuid().size());
  }
  return static_cast<uint32_t>(stable_hash(bytes) % shard_count);
}

uint64_t placement_score(std::string_view node_id, std::string_view collection, uint32_t shard) {
  std::string bytes;
  bytes.reserve(node_id.size() + collection.size() + 6);
  bytes.append(node_id);
  bytes.push_back(0);
  bytes.append(collection);
  bytes.push_back(0);
  put_u32_be(bytes, shard);
  return stable_hash(bytes);
}

std::vector<std::string> shard_owners(std::string_view collection, uint32_t shard,
                                      std::span<const std::string> region_nodes,
                                      uint32_t replication_factor) {
  // A set first: the result must not depend on the order (or repeats) of the input.
  const std::set<std::string> nodes(region_nodes.begin(), region_nodes.end());
  std::vector<std::pair<uint64_t, std::string>> scored;
  scored.reserve(nodes.size());
  for (const auto& n : nodes) scored.emplace_back(placement_score(n, collection, shard), n);
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  const size_t keep =
      replication_factor == 0 ? scored.size() : std::min<size_t>(replication_factor, scored.size());
  std::vector<std::string> out;
  out.reserve(keep);
  for (size_t i = 0; i < keep; ++i) out.push_back(std::move(scored[i].second));
  return out;
}

std::vector<uint32_t> owned_shards(std::string_view collection, uint32_t shard_count,
                                   std::string_view node_id,
                                   std::span<const std::string> region_nodes,
                                   uint32_t replication_factor) {
  std::vector<uint32_t> out;
  for (uint32_t s = 0; s < shard_count; ++s) {
    const auto owners = shard_owners(collection, s, region_nodes, replication_factor);
    if (std::find(owners.begin(), owners.end(), node_id) != owners.end()) out.push_back(s);
  }
  return out;
}

}  // namespace meridian::node
