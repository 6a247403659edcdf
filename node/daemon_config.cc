// Config file and flag parsing for meridiand; see daemon_config.h.
#include "node/daemon_config.h"

#include <fstream>

#include "absl/strings/str_cat.h"
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
         "\n"
         "  --config FILE              settings as 'key = value' lines (flags win)\n"
         "  --data-dir DIR             where the node keeps its data (default .meridian/data)\n"
         "  --listen HOST:PORT         client API address (default 127.0.0.1:7600; port 0 picks "
         "one)\n"
         "  --key-file FILE            master key for encryption at rest (see `meridian keygen`);\n"
         "                             repeat for key rotation: the first is active, the others\n"
         "                             still open older values. Without it the key is read from\n"
         "                             $MERIDIAN_MASTER_KEY (64 hex digits)\n"
         "  --insecure-no-encryption   store data unencrypted (for tests and demos only)\n";
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
  return config;
}

}  // namespace meridian::node
