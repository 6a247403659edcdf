// Validation, parsing and formatting of fault profiles, addresses and link specifications.
#include "chaos/fault_profile.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace meridian::chaos {

absl::Status validate_fault_profile(const FaultProfile& p) {
  if (p.delay_min_ms > p.delay_max_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("delay min ", p.delay_min_ms, " ms exceeds max ", p.delay_max_ms, " ms"));
  }
  if (p.delay_max_ms > kMaxFaultMs || p.stall_ms > kMaxFaultMs ||
      p.reset_after_max_ms > kMaxFaultMs) {
    return absl::InvalidArgumentError(absl::StrCat("times are limited to ", kMaxFaultMs, " ms"));
  }
  // Written so that NaN fails too.
  if (!(p.stall_prob >= 0.0 && p.stall_prob <= 1.0)) {
    return absl::InvalidArgumentError("stall probability must lie in [0, 1]");
  }
  if (!(p.reset_prob >= 0.0 && p.reset_prob <= 1.0)) {
    return absl::InvalidArgumentError("reset probability must lie in [0, 1]");
  }
  return absl::OkStatus();
}

std::string format_fault_profile(const FaultProfile& p) {
  return absl::StrCat("delay=", p.delay_min_ms, ":", p.delay_max_ms, " stall-prob=", p.stall_prob,
                      " stall-ms=", p.stall_ms, " reset-prob=", p.reset_prob,
                      " reset-after-ms=", p.reset_after_max_ms,
                      " bandwidth=", p.bandwidth_bytes_per_s);
}

absl::StatusOr<uint64_t> parse_unsigned(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(what), ": expected a non-negative integer, got '", std::string(text), "'"));
  }
  return value;
}

absl::StatusOr<double> parse_probability(std::string_view text, std::string_view what) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !(value >= 0.0 && value <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(what), ": expected a probability in [0, 1], got '", std::string(text), "'"));
  }
  return value;
}

absl::StatusOr<HostPort> parse_host_port(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad address '", std::string(text), "': ", std::string(why)));
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [V6]:PORT");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected HOST:PORT");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("write IPv6 hosts as [V6]:PORT");
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return bad("empty host");
  auto port = parse_unsigned(port_text, "port");
  if (!port.ok() || *port > 65535) return bad("port must be a number in [0, 65535]");
  out.port = static_cast<uint16_t>(*port);
  return out;
}

std::string format_host_port(const HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) return absl::StrCat("[", hp.host, "]:", hp.port);
  return absl::StrCat(hp.host, ":", hp.port);
}

bool valid_link_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<LinkSpec> parse_link_spec(std::string_view text) {
  size_t eq = text.find('=');
  size_t arrow = text.find("->");
  if (eq == std::string_view::npos || arrow == std::string_view::npos || arrow < eq) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad link '", std::string(text), "': expected NAME=LISTEN_HOST:PORT->TARGET_HOST:PORT"));
  }
  LinkSpec spec;
  spec.name = std::string(text.substr(0, eq));
  if (!valid_link_name(spec.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad link name '", spec.name, "': use 1 to 64 characters of [A-Za-z0-9_.-]"));
  }
  auto listen = parse_host_port(text.substr(eq + 1, arrow - eq - 1));
  if (!listen.ok()) return listen.status();
  auto target = parse_host_port(text.substr(arrow + 2));
  if (!target.ok()) return target.status();
  if (target->port == 0) return absl::InvalidArgumentError("target port must not be 0");
  spec.listen = *std::move(listen);
  spec.target = *std::move(target);
  return spec;
}

}  // namespace meridian::chaos
