// KeyId: the public 32-bit name of a master key, stored beside every sealed value and file so a
// reader knows which key opens it. It is derived from the key and reveals nothing about it.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace meridian::crypto {

using KeyId = std::uint32_t;

// The id stored by the plaintext framer (--insecure-no-encryption). No real key ever has it.
inline constexpr KeyId kPlaintextKeyId = 0;

// "0x1a2b3c4d": how key ids appear in errors, logs and key files.
inline std::string format_key_id(KeyId id) {
  return absl::StrCat("0x", absl::Hex(id, absl::kZeroPad8));
}

}  // namespace meridian::crypto
