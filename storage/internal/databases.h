// Names of the store's LMDB databases (also the sealing domain of their values) and the key
// helpers the store's source files share. storage/ only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace meridian::storage::internal {

inline constexpr std::string_view kMetaDb = "meta";
inline constexpr std::string_view kPointsDb = "points";
inline constexpr std::string_view kCrdtDb = "crdt";
inline constexpr std::string_view kCausalDb = "causal";
inline constexpr std::string_view kLogDb = "log";
inline constexpr std::string_view kJoinedDb = "joined";

// Key of a delta-log entry: collection id (4 bytes big-endian), then seq (8 bytes big-endian),
// so a collection's entries sort by seq.
inline std::string encode_log_key(std::string prefix, uint64_t seq) {
  for (int i = 7; i >= 0; --i) prefix.push_back(static_cast<char>(seq >> (8 * i)));
  return prefix;
}

// Key of a joined-through record: collection id (4 bytes big-endian), then the peer's replica id
// (8 bytes big-endian). Same shape as a log key, so the same helpers read it.
inline std::string encode_joined_key(std::string prefix, uint64_t peer) {
  return encode_log_key(std::move(prefix), peer);
}

inline uint64_t log_key_seq(std::string_view key) {
  uint64_t seq = 0;
  for (size_t i = key.size() - 8; i < key.size(); ++i)
    seq = (seq << 8) | static_cast<uint8_t>(key[i]);
  return seq;
}

}  // namespace meridian::storage::internal
