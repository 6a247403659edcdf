// Rendezvous placement of shards; see shard_placement.h. Changing anything
// here moves data between nodes of a running cluster: bump kShardHashVersion and document it.
#include "node/shard_placement.h"

#include <algorithm>
#include <set>
#include <utility>

namespace meridian::node {
namespace {

void put_u32_be(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

}  // namespace

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
