// A test seam for the node tests: a plaintext record sealer whose seal() can be made to fail (the
// Nth seal after arm(), or every seal while failing_all), as a sealing or disk error in the middle
// of a store transaction would. Opening always works.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/plaintext_record_sealer.h"
#include "crypto/record_sealer.h"

namespace meridian::node {

class FailingSealer final : public crypto::RecordSealer {
 public:
  // The `fail_on`th seal from now fails (counting from 1); 0 disarms.
  void arm(int fail_on) {
    count_ = 0;
    fail_on_ = fail_on;
  }
  // While set, every seal fails.
  void fail_all(bool on) { fail_all_ = on; }

  absl::StatusOr<std::string> seal(std::string_view db, std::string_view key,
                                   std::string_view plaintext) const override {
    if (fail_all_ || (fail_on_ > 0 && ++count_ == fail_on_)) {
      return absl::InternalError("injected seal failure");
    }
    return inner_.seal(db, key, plaintext);
  }
  absl::StatusOr<std::string> open(std::string_view db, std::string_view key,
                                   std::string_view sealed) const override {
    return inner_.open(db, key, sealed);
  }
  bool encrypts() const override { return false; }
  uint32_t active_key_id() const override { return 0; }

 private:
  crypto::PlaintextRecordSealer inner_;
  mutable std::atomic<int> count_ = 0;
  std::atomic<int> fail_on_ = 0;
  std::atomic<bool> fail_all_ = false;
};

}  // namespace meridian::node
