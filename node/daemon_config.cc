// Config file and flag parsing for meridiand; see daemon_config.h.
#include "node/daemon_config.h"

#include <cctype>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace meridian::node {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

absl::StatusOr<bool> parse_bool(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return absl::InvalidArgumentError(
      absl::StrCat(key, ": expected true or false, got '", value, "'"));
}

absl::Status validate_region(const std::string& region) {
  bool ok = !region.empty() && region.size() <= 64;
  for (char c : region)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("region: expected 1 to 64 characters of [A-Za-z0-9_-], got '", region, "'"));
}

// Applies one setting by its long name (the flag without "--").
absl::Status apply(DaemonConfig& config, const std::string& key, const std::string& value) {
  if (key == "data-dir") {
    config.data_dir = value;
  } else if (key == "listen") {
    config.listen = value;
  } else if (key == "key-file") {
    config.key_files.push_back(value);
  } else if (key == "insecure-no-encryption") {
    auto b = parse_bool(key, value);
    if (!b.ok()) return b.status();
    config.insecure_no_encryption = *b;
  } else if (key == "region") {
    if (auto s = validate_region(value); !s.ok()) return s;
    config.region = value;
  } else if (key == "peer-listen") {
    config.peer_listen = value;
  } else if (key == "seeds") {
    for (absl::string_view seed : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      config.seeds.push_back(trim(std::string(seed)));
    }
  } else if (key == "dial-via") {
    size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dial-via: expected FROM_HOST:PORT=TO_HOST:PORT, got '", value, "'"));
    }
    config.dial_via[value.substr(0, eq)] = value.substr(eq + 1);
  } else if (key == "gpu") {
    auto mode = parse_gpu_mode(value);
    if (!mode.ok()) return mode.status();
    config.gpu = *mode;
  } else if (key == "peer-tls-cert") {
    config.peer_tls_cert = value;
  } else if (key == "peer-tls-key") {
    config.peer_tls_key = value;
  } else if (key == "peer-tls-ca") {
    config.peer_tls_ca = value;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown setting '", key, "'"));
  }
  return absl::OkStatus();
}

absl::Status load_config_file(DaemonConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read config file ", path));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string content = trim(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    size_t eq = content.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": expected 'key = value'"));
    }
    if (auto s = apply(config, trim(content.substr(0, eq)), trim(content.substr(eq + 1)));
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* daemon_usage() {
  return "usage: meridiand [--config FILE] [--data-dir DIR] [--listen HOST:PORT]\n"
         "                 [--key-file FILE | --insecure-no-encryption]\n"
         "                 [--region NAME --peer-listen HOST:PORT --seeds HOST:PORT,...]\n"
         "                 [--gpu auto|on|off]\n"
         "\n"
         "  --config FILE              settings as 'key = value' lines (flags win)\n"
         "  --data-dir DIR             where the node keeps its data (default .meridian/data)\n"
         "  --listen HOST:PORT         client API address (default 127.0.0.1:7600; port 0 picks "
         "one)\n"
         "  --key-file FILE            master key for encryption at rest (see `meridian keygen`);\n"
         "                             repeat for key rotation: the first is active, the others\n"
         "                             still open older values. Without it the key is read from\n"
         "                             $MERIDIAN_MASTER_KEY (64 hex digits)\n"
         "  --insecure-no-encryption   store data unencrypted (for tests and demos only)\n"
         "  --gpu auto|on|off          batched exact searches of flat collections on the GPU:\n"
         "                             auto (default) when a CUDA device is usable, else the\n"
         "                             CPU (logged once); on fails at start without one\n"
         "\n"
         "cluster (all optional; without --peer-listen the node runs alone):\n"
         "  --region NAME              the region this node serves (default local)\n"
         "  --peer-listen HOST:PORT    peer (replication and gossip) address; port 0 picks one\n"
         "  --seeds HOST:PORT[,...]    peer addresses of nodes already in the cluster; the rest\n"
         "                             of the cluster is learned from them (repeatable)\n"
         "  --dial-via FROM=TO         dial peer address FROM through TO (a proxy); repeatable\n"
         "  --peer-tls-cert PEM        this node's certificate (chain) for mutual TLS between\n"
         "  --peer-tls-key PEM         nodes, its private key, and the CA that signs every\n"
         "  --peer-tls-ca PEM          node's certificate: all three or none (none: plaintext\n"
         "                             peer traffic, with a warning); see docs/security.md\n";
}

absl::StatusOr<DaemonConfig> parse_daemon_args(const std::vector<std::string>& args) {
  DaemonConfig config;
  // The config file is applied first so that flags override it wherever it appears.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError("--config needs a value");
      if (auto s = load_config_file(config, args[i + 1]); !s.ok()) return s;
    }
  }
  bool key_files_from_flags = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.show_help = true;
      continue;
    }
    if (arg == "--insecure-no-encryption") {
      config.insecure_no_encryption = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string key = arg.substr(2), value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      value = args[++i];
    }
    if (key == "config") continue;
    if (key == "key-file" && !key_files_from_flags) {
      // Flags win: key files on the command line replace those of the config file.
      config.key_files.clear();
      key_files_from_flags = true;
    }
    if (auto s = apply(config, key, value); !s.ok()) return s;
  }
  // Half a TLS setup would silently fall back to plaintext or fail on the first peer: refuse it.
  const int tls_settings =
      !config.peer_tls_cert.empty() + !config.peer_tls_key.empty() + !config.peer_tls_ca.empty();
  if (tls_settings != 0 && tls_settings != 3) {
    return absl::InvalidArgumentError(
        "peer TLS needs all three of --peer-tls-cert, --peer-tls-key and --peer-tls-ca "
        "(or none of them)");
  }
  return config;
}

}  // namespace meridian::node
