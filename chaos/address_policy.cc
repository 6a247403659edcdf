// Address safety checks of the chaos proxy (see address_policy.h).
#include "chaos/address_policy.h"

#include <algorithm>
#include <asio/ip/address.hpp>

#include "absl/strings/str_cat.h"

namespace meridian::chaos {
namespace {

bool is_private_v4(const asio::ip::address_v4& a) {
  uint32_t v = a.to_uint();
  return (v >> 24) == 10 || (v >> 20) == ((172u << 4) | 1u) || (v >> 16) == ((192u << 8) | 168u);
}

absl::StatusOr<asio::ip::address> numeric(std::string_view host) {
  if (host == "localhost") return asio::ip::make_address_v4("127.0.0.1");
  asio::error_code ec;
  asio::ip::address a = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", std::string(host), "' is not a numeric IP address (host names are not resolved)"));
  }
  return a;
}

}  // namespace

absl::StatusOr<AddressPolicy> AddressPolicy::create(
    const std::vector<std::string>& allowed_private) {
  std::vector<std::string> allowed;
  for (const std::string& text : allowed_private) {
    auto a = numeric(text);
    if (!a.ok()) return a.status();
    if (!a->is_v4() || !is_private_v4(a->to_v4())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--allow-private ", text,
          ": only private IPv4 addresses (10/8, 172.16/12, 192.168/16) may be allowed"));
    }
    allowed.push_back(a->to_string());
  }
  return AddressPolicy(std::move(allowed));
}

absl::StatusOr<std::string> AddressPolicy::check(const HostPort& address,
                                                 std::string_view role) const {
  auto a = numeric(address.host);
  if (!a.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(role), " ", format_host_port(address), " refused: ", a.status().message()));
  }
  std::string canonical = a->to_string();
  if (a->is_loopback()) return canonical;
  if (std::find(allowed_.begin(), allowed_.end(), canonical) != allowed_.end()) return canonical;
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(role), " ", format_host_port(address),
      " refused: the chaos proxy only uses loopback addresses (127.0.0.0/8, ::1) and private "
      "addresses of this machine listed with --allow-private"));
}

}  // namespace meridian::chaos
