// SecretBytes: a fixed-size buffer for key material in libsodium's guarded memory
// (sodium_malloc: guard pages, mlock'd where allowed, wiped on free).
#pragma once

#include <cstddef>

#include "absl/status/statusor.h"

namespace meridian::crypto {

// Owns `size()` bytes of sodium_malloc'd memory, zero-filled on creation and wiped with
// sodium_memzero before it is released. Move-only. A moved-from SecretBytes is empty.
// Not synchronised: concurrent const access is safe, mutation needs the owner's lock.
class SecretBytes {
 public:
  // Allocates `size` zeroed bytes (size may be 0). ResourceExhausted if sodium_malloc fails.
  static absl::StatusOr<SecretBytes> allocate(std::size_t size);

  SecretBytes() = default;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  unsigned char* data() { return data_; }
  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Constant-time comparison of contents (sodium_memcmp); false when sizes differ.
  bool equals(const SecretBytes& other) const;

 private:
  SecretBytes(unsigned char* data, std::size_t size) : data_(data), size_(size) {}
  void release();

  unsigned char* data_ = nullptr;  // owned; from sodium_malloc
  std::size_t size_ = 0;
};

}  // namespace meridian::crypto
