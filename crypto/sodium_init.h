// One-time libsodium initialisation, called by every crypto/ entry point that creates keys or
// secure memory, so callers never have to remember sodium_init().
#pragma once

#include "absl/status/status.h"

namespace meridian::crypto {

// Initialises libsodium if needed. Idempotent and thread-safe (libsodium serialises it), but it
// takes a lock, so call it when creating objects, not per operation. Internal when libsodium
// cannot initialise (no usable random source).
absl::Status init_sodium();

}  // namespace meridian::crypto
