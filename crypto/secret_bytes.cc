// SecretBytes: sodium_malloc'd key storage, wiped on release.
#include "crypto/secret_bytes.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/sodium_init.h"

namespace meridian::crypto {

absl::StatusOr<SecretBytes> SecretBytes::allocate(std::size_t size) {
  if (absl::Status st = init_sodium(); !st.ok()) return st;
  if (size == 0) return SecretBytes();
  // sodium_malloc fills with 0xdb; zero it so a fresh buffer has a defined value.
  auto* data = static_cast<unsigned char*>(sodium_malloc(size));
  if (data == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("sodium_malloc failed for ", size, " bytes of key memory"));
  }
  sodium_memzero(data, size);
  return SecretBytes(data, size);
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { release(); }

void SecretBytes::release() {
  if (data_ != nullptr) {
    // sodium_free wipes too; the explicit memzero keeps the contract visible here.
    sodium_memzero(data_, size_);
    sodium_free(data_);
    data_ = nullptr;
    size_ = 0;
  }
}

bool SecretBytes::equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

}  // namespace meridian::crypto
