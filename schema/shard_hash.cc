// Stable point hashing; see shard_hash.h. Changing anything here moves points between the shards
// of existing collections: add a new kShardHashVersion instead.
#include "schema/shard_hash.h"

#include <string>

namespace meridian {

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
    for (int shift = 56; shift >= 0; shift -= 8) {
      bytes.push_back(static_cast<char>(id.as_number() >> shift));
    }
  } else {
    bytes.push_back(1);
    bytes.append(reinterpret_cast<const char*>(id.as_uuid().data()), id.as_uuid().size());
  }
  return static_cast<uint32_t>(stable_hash(bytes) % shard_count);
}

}  // namespace meridian
