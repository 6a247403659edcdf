// Constants of the IVF-Flat and IVF-PQ encodings (layouts documented in ivf_flat_index_io.cc and
// ivf_pq_index_io.cc), shared by the codecs and their corruption tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace meridian::index::internal {

inline constexpr std::string_view kIvfFlatMagic{"MRDIVFF\0", 8};
inline constexpr uint32_t kIvfFlatFormatVersion = 1;
inline constexpr size_t kIvfFlatHeaderBytes = 72;

inline constexpr std::string_view kIvfPqMagic{"MRDIVFPQ", 8};
inline constexpr uint32_t kIvfPqFormatVersion = 1;
inline constexpr size_t kIvfPqHeaderBytes = 80;

}  // namespace meridian::index::internal
