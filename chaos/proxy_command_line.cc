// Parsing of meridian-chaos-proxy's arguments (see proxy_command_line.h).
#include "chaos/proxy_command_line.h"

#include "absl/strings/str_cat.h"

namespace meridian::chaos {

const char kProxyUsage[] =
    "usage: meridian-chaos-proxy --link NAME=LISTEN_HOST:PORT->TARGET_HOST:PORT [--link ...]\n"
    "         [--delay-ms MIN:MAX] [--seed N] [--control HOST:PORT] [--allow-private ADDR]\n"
    "         [--queue-cap-bytes N]\n"
    "Forwards each link's listening port to its target with injected delay (default 30:80 ms\n"
    "one way), stalls, resets and partitions. Only loopback targets, or private addresses\n"
    "given with --allow-private, are accepted. The control socket (loopback only) takes:\n"
    "  status | cut LINK | heal LINK | set LINK delay MIN MAX | set LINK reset-prob P [AFTER_MS]\n"
    "  | set LINK stall-prob P STALL_MS | set LINK bandwidth BYTES_PER_S\n"
    "  (LINK: a name, or PREFIX* for every link whose name starts with PREFIX)\n";

absl::StatusOr<ProxyCommandLine> parse_proxy_command_line(const std::vector<std::string>& args) {
  ProxyCommandLine out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    size_t eq = flag.find('=');
    if (flag.rfind("--", 0) == 0 && eq != std::string::npos && flag.rfind("--link", 0) != 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    } else if (flag.rfind("--link=", 0) == 0) {  // the spec itself contains '='
      value = flag.substr(7);
      flag = "--link";
      has_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      out.help = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
      }
      value = args[++i];
    }
    if (flag == "--link") {
      auto spec = parse_link_spec(value);
      if (!spec.ok()) return spec.status();
      out.options.links.push_back(*std::move(spec));
    } else if (flag == "--delay-ms") {
      size_t colon = value.find(':');
      std::string lo = value.substr(0, colon);
      std::string hi = colon == std::string::npos ? lo : value.substr(colon + 1);
      auto min_ms = parse_unsigned(lo, "--delay-ms min");
      if (!min_ms.ok()) return min_ms.status();
      auto max_ms = parse_unsigned(hi, "--delay-ms max");
      if (!max_ms.ok()) return max_ms.status();
      if (*max_ms > kMaxFaultMs) {
        return absl::InvalidArgumentError(absl::StrCat("--delay-ms above ", kMaxFaultMs));
      }
      out.options.default_profile.delay_min_ms = static_cast<uint32_t>(*min_ms);
      out.options.default_profile.delay_max_ms = static_cast<uint32_t>(*max_ms);
      absl::Status valid = validate_fault_profile(out.options.default_profile);
      if (!valid.ok()) return valid;
    } else if (flag == "--seed") {
      auto seed = parse_unsigned(value, "--seed");
      if (!seed.ok()) return seed.status();
      out.options.seed = *seed;
      out.seed_given = true;
    } else if (flag == "--control") {
      auto control = parse_host_port(value);
      if (!control.ok()) return control.status();
      out.options.control = *std::move(control);
    } else if (flag == "--allow-private") {
      out.options.allowed_private.push_back(value);
    } else if (flag == "--queue-cap-bytes") {
      auto cap = parse_unsigned(value, "--queue-cap-bytes");
      if (!cap.ok()) return cap.status();
      if (*cap == 0) return absl::InvalidArgumentError("--queue-cap-bytes must be positive");
      out.options.queue_cap_bytes = *cap;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument '", args[i], "'"));
    }
  }
  if (!out.help && out.options.links.empty()) {
    return absl::InvalidArgumentError("at least one --link is required");
  }
  return out;
}

}  // namespace meridian::chaos
