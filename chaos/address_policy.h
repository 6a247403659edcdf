// Which addresses the chaos proxy may listen on or forward to: loopback always, private
// addresses of this machine's own network namespaces only when listed explicitly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chaos/fault_profile.h"

namespace meridian::chaos {

// Safety rule of the proxy: it never touches addresses outside this machine. Allowed are
// 127.0.0.0/8, ::1 and "localhost" (read as 127.0.0.1), plus each address passed to create(),
// which must itself be a private IPv4 address (10/8, 172.16/12, 192.168/16) such as a veth
// address of a namespace the cluster script created. Host names are never resolved.
// Immutable after creation; safe to share between threads.
class AddressPolicy {
 public:
  // InvalidArgument when an allowed address is not numeric or not private.
  static absl::StatusOr<AddressPolicy> create(const std::vector<std::string>& allowed_private);

  // Returns the canonical numeric host of `address` when allowed, else InvalidArgument with a
  // message naming `role` ("target", "listen", "control") and the rule.
  absl::StatusOr<std::string> check(const HostPort& address, std::string_view role) const;

 private:
  explicit AddressPolicy(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {}
  std::vector<std::string> allowed_;  // canonical numeric form
};

}  // namespace meridian::chaos
