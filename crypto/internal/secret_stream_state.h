// A crypto_secretstream_xchacha20poly1305 state kept in guarded memory: the state holds the
// stream's current key, so it gets the same care as a master key.
#pragma once

#include <sodium.h>

#include <utility>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace meridian::crypto::internal {

class SecretStreamState {
 public:
  using State = crypto_secretstream_xchacha20poly1305_state;

  static absl::StatusOr<SecretStreamState> allocate() {
    absl::StatusOr<SecretBytes> bytes = SecretBytes::allocate(sizeof(State));
    if (!bytes.ok()) return bytes.status();
    return SecretStreamState(*std::move(bytes));
  }

  // The state is a struct of byte arrays (alignment 1), so it may live in any byte buffer.
  State* get() { return reinterpret_cast<State*>(bytes_.data()); }

 private:
  explicit SecretStreamState(SecretBytes bytes) : bytes_(std::move(bytes)) {}
  SecretBytes bytes_;
};

static_assert(alignof(SecretStreamState::State) == 1);

}  // namespace meridian::crypto::internal
