// Helpers shared by the index encodings (HNSW, IVF-Flat, IVF-PQ): little-endian appends, a
// bounds-checked reader, the trailing checksum and the common magic/version/checksum prelude.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace meridian::index::internal {

template <typename T>
void put(std::string& out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out.append(buf, sizeof(T));
}

// Appends `count` elements of trivially copyable T.
template <typename T>
void put_array(std::string& out, const T* data, size_t count) {
  if (count > 0) out.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

// Bounds-checked sequential reader; every read fails (returns false, changes nothing) once the
// input is exhausted.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool get(T& value) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  // Copies `n` bytes into `dst`.
  bool get_bytes(void* dst, size_t n) {
    if (bytes_.size() - pos_ < n) return false;
    if (n > 0) std::memcpy(dst, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // Replaces `out` with `count` elements of trivially copyable T; fails without allocating when
  // fewer bytes remain.
  template <typename T>
  bool get_array(std::vector<T>& out, size_t count) {
    if (count > remaining() / sizeof(T)) return false;
    out.resize(count);
    return get_bytes(out.data(), count * sizeof(T));
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

inline constexpr size_t kChecksumBytes = 8;

// 64-bit FNV-1a over 8-byte little-endian words (then the tail bytes): detects torn writes and
// flipped bits before the structural checks run. Not a cryptographic MAC: at rest the bytes are
// sealed by crypto/.
uint64_t format_checksum(std::string_view bytes);

// Checks the frame every index encoding shares: `magic` (8 bytes), a u32 version in
// [1, max_version], then the body, then format_checksum of everything before it. On success
// `*version` holds the version and the returned reader is positioned after it, bounded to the
// body (checksum excluded). DataLoss naming `what` otherwise.
absl::StatusOr<ByteReader> open_frame(std::string_view bytes, std::string_view magic,
                                      uint32_t max_version, const char* what, uint32_t* version);

}  // namespace meridian::index::internal
