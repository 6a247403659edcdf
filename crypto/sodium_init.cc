// Wraps sodium_init() in a Status.
#include "crypto/sodium_init.h"

#include <sodium.h>

namespace meridian::crypto {

absl::Status init_sodium() {
  // sodium_init() returns 0 on first success, 1 when already initialised, -1 on failure.
  if (sodium_init() < 0) {
    return absl::InternalError("libsodium failed to initialise (no usable random source?)");
  }
  return absl::OkStatus();
}

}  // namespace meridian::crypto
