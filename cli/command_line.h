// The `meridian` command line: the typed arguments of every command and the parser that
// produces them from argv. Parsing needs no server and prints nothing.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "schema/types.h"

namespace meridian::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:7600";

struct HelpArgs {};
struct StatusArgs {};
struct CollectionCreateArgs {
  CollectionConfig config;
};
struct CollectionListArgs {};
struct CollectionInfoArgs {
  std::string name;
};
struct CollectionDropArgs {
  std::string name;
};
// `--write-concern local|region|all_regions` and `--write-timeout-ms N` of the write commands.
struct WriteConcernArgs {
  std::string concern = "local";
  uint32_t timeout_ms = 0;  // 0: the node's default (5 s)
};
struct ImportArgs {
  std::string collection;
  std::string file;
  uint64_t first_id = 0;  // .fvecs only: ids first_id .. first_id + n - 1
  bool first_id_given = false;
  uint32_t batch = 1000;  // points per upsert, 1..kMaxBatchPoints
  WriteConcernArgs write;
};
struct SearchArgs {
  std::string collection;
  std::string queries_file;
  uint32_t k = 10;
  std::string out;          // result ids (.ivecs); empty: not written
  std::string out_dist;     // result distances (.fvecs); empty: not written
  uint32_t batch = 1;       // queries per request
  uint32_t ef = 0;          // hnsw beam width; 0: the collection's default
  uint32_t nprobe = 0;      // ivf_flat lists scanned per sealed segment; 0: the default
  std::string filter = {};  // payload filter JSON (syntax in schema/api.capnp); empty: none
};
struct RecallArgs {
  std::string results_file;
  std::string ground_truth_file;
  uint32_t k = 10;
  std::string ground_truth_dist_file;  // both or neither of the dist files
  std::string result_dist_file;
};
struct GetArgs {
  std::string collection;
  std::vector<PointId> ids;
};
struct DeleteArgs {
  std::string collection;
  std::vector<PointId> ids;
  WriteConcernArgs write = {};
};
// `payload set|overwrite NAME ID JSON` and `payload delete-keys NAME ID KEY...`.
struct PayloadSetArgs {
  std::string collection;
  PointId id;
  std::string payload_json;
  bool overwrite = false;  // replace the whole payload instead of merging fields
};
struct PayloadDeleteKeysArgs {
  std::string collection;
  PointId id;
  std::vector<std::string> keys;
};
struct CountArgs {
  std::string collection;
};
struct ScrollArgs {
  std::string collection;
  uint32_t limit = 100;
  std::string cursor;  // raw bytes (given in hex on the command line)
};
struct ReplicationLagArgs {
  std::string collection;
  std::vector<std::string> targets;  // client addresses of the nodes to watch
  uint32_t probes = 100;
  uint32_t interval_ms = 20;  // pause between probes
  uint32_t load_rate = 0;     // background upserts per second on the source node (0: none)
};
struct GenDatasetArgs {
  std::string dir;
  std::string name;
  uint32_t n = 20000;
  uint32_t dim = 64;
  uint32_t queries = 200;
  Metric metric = Metric::kL2;  // l2 or cosine
  uint64_t seed = 1;
};

struct KeygenArgs {
  std::string out;  // the key file to create
};

struct KeysStatusArgs {};
struct KeysRotateArgs {
  std::string key_file;  // a path on the node's machine
};
struct KeysRetireArgs {
  uint32_t key_id = 0;
};

using Command =
    std::variant<HelpArgs, StatusArgs, CollectionCreateArgs, CollectionListArgs, CollectionInfoArgs,
                 CollectionDropArgs, ImportArgs, SearchArgs, RecallArgs, GetArgs, DeleteArgs,
                 CountArgs, ScrollArgs, GenDatasetArgs, KeygenArgs, KeysStatusArgs, KeysRotateArgs,
                 KeysRetireArgs, PayloadSetArgs, PayloadDeleteKeysArgs, ReplicationLagArgs>;

struct Invocation {
  std::string server;  // HOST:PORT
  Command command;
};

// Parses the arguments after the program name. `--server HOST:PORT` (or `--server=...`) may
// appear anywhere and wins over `default_server` (the caller passes $MERIDIAN_SERVER or
// kDefaultServer). `--help` or `-h` anywhere, or the command `help`, gives HelpArgs. Options take
// `--opt value` or `--opt=value` and may follow or precede positional arguments; `--` ends
// options. A usage mistake is InvalidArgument with a one-line message.
absl::StatusOr<Invocation> parse_command_line(const std::vector<std::string>& args,
                                              const std::string& default_server);

// True for commands that talk to a server (all but help, recall, gen-dataset and keygen).
bool needs_server(const Command& command);

// The full help text: every command with its arguments.
std::string usage_text();

// A short usage text for the command that `args` names (or the general one), for usage errors.
std::string short_usage(const std::vector<std::string>& args);

// Lower-case hex of `bytes`, and its inverse (InvalidArgument on odd length or a non-hex digit).
std::string hex_encode(const std::string& bytes);
absl::StatusOr<std::string> hex_decode(const std::string& hex);

}  // namespace meridian::cli
