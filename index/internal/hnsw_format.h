// Constants and the checksum of the HNSW index encoding (layout documented in hnsw_index_io.cc),
// shared by the codec and its corruption tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "index/internal/byte_codec.h"

namespace meridian::index::internal {

inline constexpr std::string_view kHnswMagic{"MRDHNSW\0", 8};
// Version 1 encodes unquantised indexes; version 2 (a superset) encodes SQ8 indexes.
inline constexpr uint32_t kHnswFormatVersion = 1;
inline constexpr uint32_t kHnswSq8FormatVersion = 2;
inline constexpr size_t kHnswHeaderBytes = 56;
inline constexpr size_t kHnswSq8HeaderBytes = 68;
inline constexpr size_t kHnswChecksumBytes = kChecksumBytes;

// The checksum of every byte before it (format_checksum).
inline uint64_t hnsw_checksum(std::string_view bytes) { return format_checksum(bytes); }

}  // namespace meridian::index::internal
