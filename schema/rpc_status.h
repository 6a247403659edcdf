// The one place where KJ exceptions and absl::Status meet. Servers raise a status as a KJ
// exception whose description carries "[meridian:CODE] "; clients turn any KJ exception back
// into a status with a code they can act on.
#pragma once

#include <kj/exception.h>

#include "absl/status/status.h"

namespace meridian {

// Builds the KJ exception a server raises for a non-OK status.
kj::Exception status_to_exception(const absl::Status& status);

// Throws status_to_exception(status). REQUIRES: !status.ok().
[[noreturn]] void throw_status(const absl::Status& status);

// Maps a KJ exception to a status: a "[meridian:CODE]" tag wins; otherwise
// DISCONNECTED -> Unavailable, OVERLOADED -> ResourceExhausted, UNIMPLEMENTED ->
// Unimplemented, anything else -> Internal.
absl::Status exception_to_status(const kj::Exception& exception);

}  // namespace meridian
