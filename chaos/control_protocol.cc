// Parsing and formatting for the chaos proxy control protocol (see control_protocol.h).
#include "chaos/control_protocol.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace meridian::chaos {
namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

absl::Status usage(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(why),
      " (commands: status | cut LINK | heal LINK | set LINK delay MIN MAX | set LINK reset-prob P "
      "[AFTER_MS] | set LINK stall-prob P STALL_MS | set LINK bandwidth BYTES_PER_S)"));
}

}  // namespace

bool valid_link_pattern(std::string_view pattern) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return pattern.empty() || valid_link_name(pattern);
  }
  return valid_link_name(pattern);
}

bool link_matches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return name.substr(0, pattern.size()) == pattern;
  }
  return name == pattern;
}

absl::StatusOr<ControlCommand> parse_control_command(std::string_view line) {
  std::vector<std::string_view> w = split_words(line);
  if (w.empty()) return usage("empty command");
  ControlCommand c;
  if (w[0] == "status") {
    if (w.size() != 1) return usage("status takes no arguments");
    return c;
  }
  if (w[0] != "cut" && w[0] != "heal" && w[0] != "set") {
    return usage(absl::StrCat("unknown command '", std::string(w[0]), "'"));
  }
  if (w.size() < 2) return usage(absl::StrCat("missing link in '", std::string(line), "'"));
  c.link = std::string(w[1]);
  if (!valid_link_pattern(c.link)) return usage("bad link name");
  if (w[0] == "cut" || w[0] == "heal") {
    if (w.size() != 2) return usage(absl::StrCat(std::string(w[0]), " takes one link"));
    c.kind = w[0] == "cut" ? ControlCommand::Kind::kCut : ControlCommand::Kind::kHeal;
    return c;
  }
  if (w.size() < 4) return usage("set needs a link, a setting and values");
  std::string_view what = w[2];
  if (what == "delay" && w.size() == 5) {
    auto lo = parse_unsigned(w[3], "delay min");
    if (!lo.ok()) return lo.status();
    auto hi = parse_unsigned(w[4], "delay max");
    if (!hi.ok()) return hi.status();
    c.kind = ControlCommand::Kind::kSetDelay;
    c.a = *lo;
    c.b = *hi;
    return c;
  }
  if (what == "reset-prob" && (w.size() == 4 || w.size() == 5)) {
    auto p = parse_probability(w[3], "reset-prob");
    if (!p.ok()) return p.status();
    c.kind = ControlCommand::Kind::kSetResetProb;
    c.probability = *p;
    if (w.size() == 5) {
      auto after = parse_unsigned(w[4], "reset after ms");
      if (!after.ok()) return after.status();
      c.a = *after;
      c.has_a = true;
    }
    return c;
  }
  if (what == "stall-prob" && w.size() == 5) {
    auto p = parse_probability(w[3], "stall-prob");
    if (!p.ok()) return p.status();
    auto ms = parse_unsigned(w[4], "stall ms");
    if (!ms.ok()) return ms.status();
    c.kind = ControlCommand::Kind::kSetStallProb;
    c.probability = *p;
    c.a = *ms;
    return c;
  }
  if (what == "bandwidth" && w.size() == 4) {
    auto bw = parse_unsigned(w[3], "bandwidth");
    if (!bw.ok()) return bw.status();
    c.kind = ControlCommand::Kind::kSetBandwidth;
    c.a = *bw;
    return c;
  }
  return usage(absl::StrCat("bad set command '", std::string(line), "'"));
}

absl::Status apply_to_profile(const ControlCommand& c, FaultProfile& profile) {
  FaultProfile next = profile;
  auto ms = [](uint64_t v) { return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX)); };
  switch (c.kind) {
    case ControlCommand::Kind::kSetDelay:
      next.delay_min_ms = ms(c.a);
      next.delay_max_ms = ms(c.b);
      break;
    case ControlCommand::Kind::kSetResetProb:
      next.reset_prob = c.probability;
      if (c.has_a) next.reset_after_max_ms = ms(c.a);
      break;
    case ControlCommand::Kind::kSetStallProb:
      next.stall_prob = c.probability;
      next.stall_ms = ms(c.a);
      break;
    case ControlCommand::Kind::kSetBandwidth:
      next.bandwidth_bytes_per_s = c.a;
      break;
    default:
      return absl::InvalidArgumentError("not a set command");
  }
  absl::Status valid = validate_fault_profile(next);
  if (!valid.ok()) return valid;
  profile = next;
  return absl::OkStatus();
}

std::string format_status_reply(const ProxyStatus& s) {
  std::string out =
      absl::StrCat("ok seed=", s.seed, " queue-cap=", s.queue_cap_bytes, " links=", s.links.size());
  for (const LinkStatus& l : s.links) {
    absl::StrAppend(&out, " | link=", l.name, " listen=", l.listen, " target=", l.target,
                    " state=", l.cut ? "cut" : "up", " ", format_fault_profile(l.profile),
                    " conns=", l.active_connections, " accepted=", l.accepted_connections,
                    " resets=", l.injected_resets, " cut-closed=", l.closed_by_cut,
                    " bytes=", l.bytes_forwarded, " queued=", l.queued_bytes,
                    " peak-queued=", l.peak_queued_bytes);
  }
  return out;
}

absl::StatusOr<ProxyStatus> parse_status_reply(std::string_view line) {
  if (line.substr(0, 6) == "error ") {
    return absl::UnavailableError(std::string(line.substr(6)));
  }
  std::vector<std::string_view> w = split_words(line);
  if (w.empty() || w[0] != "ok") {
    return absl::InvalidArgumentError(absl::StrCat("bad status reply '", std::string(line), "'"));
  }
  ProxyStatus s;
  LinkStatus* link = nullptr;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] == "|") continue;
    size_t eq = w[i].find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad field '", std::string(w[i]), "'"));
    }
    std::string_view key = w[i].substr(0, eq);
    std::string_view value = w[i].substr(eq + 1);
    if (key == "link") {
      link = &s.links.emplace_back();
      link->name = std::string(value);
      continue;
    }
    if (key == "listen" || key == "target" || key == "state" || key == "delay" ||
        key == "stall-prob" || key == "reset-prob") {
      if (link == nullptr) return absl::InvalidArgumentError("link field before link=");
      if (key == "listen") link->listen = std::string(value);
      if (key == "target") link->target = std::string(value);
      if (key == "state") link->cut = value == "cut";
      if (key == "delay") {
        size_t colon = value.find(':');
        auto lo = parse_unsigned(value.substr(0, colon), "delay");
        auto hi =
            parse_unsigned(colon == std::string_view::npos ? "" : value.substr(colon + 1), "delay");
        if (!lo.ok() || !hi.ok()) return absl::InvalidArgumentError("bad delay field");
        link->profile.delay_min_ms = static_cast<uint32_t>(*lo);
        link->profile.delay_max_ms = static_cast<uint32_t>(*hi);
      }
      if (key == "stall-prob" || key == "reset-prob") {
        auto p = parse_probability(value, key);
        if (!p.ok()) return p.status();
        (key == "stall-prob" ? link->profile.stall_prob : link->profile.reset_prob) = *p;
      }
      continue;
    }
    auto n = parse_unsigned(value, key);
    if (!n.ok()) return n.status();
    if (link == nullptr) {
      if (key == "seed") s.seed = *n;
      if (key == "queue-cap") s.queue_cap_bytes = *n;
      continue;
    }
    if (key == "stall-ms") link->profile.stall_ms = static_cast<uint32_t>(*n);
    if (key == "reset-after-ms") link->profile.reset_after_max_ms = static_cast<uint32_t>(*n);
    if (key == "bandwidth") link->profile.bandwidth_bytes_per_s = *n;
    if (key == "conns") link->active_connections = *n;
    if (key == "accepted") link->accepted_connections = *n;
    if (key == "resets") link->injected_resets = *n;
    if (key == "cut-closed") link->closed_by_cut = *n;
    if (key == "bytes") link->bytes_forwarded = *n;
    if (key == "queued") link->queued_bytes = *n;
    if (key == "peak-queued") link->peak_queued_bytes = *n;
  }
  return s;
}

}  // namespace meridian::chaos
