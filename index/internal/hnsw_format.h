// Constants and the checksum of the HNSW index encoding (layout documented in hnsw_index_io.cc),
// shared by the codec and its corruption tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace meridian::index::internal {

inline constexpr std::string_view kHnswMagic{"MRDHNSW\0", 8};
inline constexpr uint32_t kHnswFormatVersion = 1;
inline constexpr size_t kHnswHeaderBytes = 56;
inline constexpr size_t kHnswChecksumBytes = 8;

// 64-bit FNV-1a over 8-byte little-endian words (then the tail bytes): detects torn writes and
// flipped bits before the structural checks run. Not a cryptographic MAC: at rest the bytes are
// sealed by crypto/.
uint64_t hnsw_checksum(std::string_view bytes);

}  // namespace meridian::index::internal
