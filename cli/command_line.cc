// Table-driven parsing of `meridian` arguments: each command declares its positionals and
// value options; a builder turns the generic parse into the command's typed arguments.
#include "cli/command_line.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace meridian::cli {
namespace {

// Options and positionals of one command after generic parsing.
struct ParsedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::string> options;  // "--dim" -> "64"

  const std::string* option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? nullptr : &it->second;
  }
};

struct CommandSpec {
  std::string_view name;  // one or two words
  std::string_view arguments;
  std::string_view summary;
  size_t min_positionals;
  size_t max_positionals;  // SIZE_MAX: unbounded
  std::vector<std::string_view> value_options;
  std::function<absl::StatusOr<Command>(const ParsedArgs&)> build;
};

absl::Status usage_error(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

template <typename T>
absl::StatusOr<T> parse_unsigned(const std::string& text, const std::string& what, T min, T max) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return usage_error(
        absl::StrCat(what, " must be an integer in ", min, "..", max, ", got '", text, "'"));
  }
  return value;
}

// Reads option `name` into `out` when it is present.
template <typename T>
absl::Status read_option(const ParsedArgs& args, const std::string& name, T min, T max, T& out) {
  const std::string* text = args.option(name);
  if (text == nullptr) return absl::OkStatus();
  absl::StatusOr<T> value = parse_unsigned<T>(*text, name, min, max);
  if (!value.ok()) return value.status();
  out = *value;
  return absl::OkStatus();
}

absl::StatusOr<std::string> required_option(const ParsedArgs& args, const std::string& name) {
  const std::string* text = args.option(name);
  if (text == nullptr) return usage_error(absl::StrCat("missing required option ", name));
  return *text;
}

absl::StatusOr<std::vector<PointId>> parse_ids(const std::vector<std::string>& texts) {
  std::vector<PointId> ids;
  for (const std::string& text : texts) {
    absl::StatusOr<PointId> id = PointId::parse(text);
    if (!id.ok()) return usage_error(std::string(id.status().message()));
    ids.push_back(*id);
  }
  return ids;
}

#define MERIDIAN_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    absl::Status meridian_status_ = (expr);              \
    if (!meridian_status_.ok()) return meridian_status_; \
  } while (0)

absl::StatusOr<Command> build_collection_create(const ParsedArgs& args) {
  CollectionCreateArgs out;
  out.config.name = args.positionals[0];
  absl::StatusOr<std::string> dim = required_option(args, "--dim");
  if (!dim.ok()) return dim.status();
  absl::StatusOr<uint32_t> dim_value = parse_unsigned<uint32_t>(*dim, "--dim", 1, kMaxDim);
  if (!dim_value.ok()) return dim_value.status();
  out.config.dim = *dim_value;
  absl::StatusOr<std::string> metric = required_option(args, "--metric");
  if (!metric.ok()) return metric.status();
  absl::StatusOr<Metric> metric_value = parse_metric(*metric);
  if (!metric_value.ok()) {
    return usage_error(absl::StrCat("--metric must be l2, cosine or dot, got '", *metric, "'"));
  }
  out.config.metric = *metric_value;
  if (const std::string* index = args.option("--index")) {
    absl::StatusOr<IndexKind> kind = parse_index_kind(*index);
    if (!kind.ok()) {
      return usage_error(
          absl::StrCat("--index must be flat, hnsw, ivf_flat or ivf_pq, got '", *index, "'"));
    }
    out.config.index_kind = *kind;
  }
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--m", 2, 128, out.config.hnsw_m));
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--ef-construction", 1, kMaxHnswEf,
                                                 out.config.hnsw_ef_construction));
  if ((args.option("--m") || args.option("--ef-construction")) &&
      out.config.index_kind != IndexKind::kHnsw) {
    return usage_error("--m and --ef-construction apply to --index hnsw only");
  }
  MERIDIAN_RETURN_IF_ERROR(
      read_option<uint32_t>(args, "--nlist", 1, kMaxIvfNlist, out.config.ivf_nlist));
  if (args.option("--nlist") && out.config.index_kind != IndexKind::kIvfFlat &&
      out.config.index_kind != IndexKind::kIvfPq) {
    return usage_error("--nlist applies to --index ivf_flat and ivf_pq only");
  }
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(
      args, "--pq-m", 1, std::min(out.config.dim, kMaxIvfPqM), out.config.pq_m));
  if (args.option("--pq-m") && out.config.index_kind != IndexKind::kIvfPq) {
    return usage_error("--pq-m applies to --index ivf_pq only");
  }
  if (const std::string* quantization = args.option("--quantization")) {
    absl::StatusOr<Quantization> q = parse_quantization(*quantization);
    if (!q.ok()) {
      return usage_error(
          absl::StrCat("--quantization must be none or sq8, got '", *quantization, "'"));
    }
    out.config.quantization = *q;
    if (*q != Quantization::kNone && out.config.index_kind != IndexKind::kHnsw &&
        out.config.index_kind != IndexKind::kIvfFlat) {
      return usage_error("--quantization sq8 applies to --index hnsw and ivf_flat only");
    }
  }
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--refine-factor", 1, kMaxRefineFactor,
                                                 out.config.refine_factor));
  if (args.option("--refine-factor") && out.config.index_kind != IndexKind::kIvfPq &&
      out.config.quantization != Quantization::kSq8) {
    return usage_error("--refine-factor applies to --index ivf_pq and --quantization sq8 only");
  }
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--seal-points", kMinSegmentSealPoints,
                                                 kMaxSegmentSealPoints,
                                                 out.config.segment_seal_points));
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--rebuild-deleted-percent", 1, 100,
                                                 out.config.segment_rebuild_deleted_percent));
  if ((args.option("--seal-points") || args.option("--rebuild-deleted-percent")) &&
      out.config.index_kind == IndexKind::kFlat) {
    return usage_error(
        "--seal-points and --rebuild-deleted-percent apply to --index hnsw, ivf_flat and ivf_pq "
        "only");
  }
  MERIDIAN_RETURN_IF_ERROR(
      read_option<uint32_t>(args, "--shards", 1, kMaxShardCount, out.config.shard_count));
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(
      args, "--replication-factor", 1, kMaxReplicationFactor, out.config.replication_factor));
  return out;
}

absl::Status read_write_concern(const ParsedArgs& args, WriteConcernArgs& out) {
  if (const std::string* concern = args.option("--write-concern")) {
    if (*concern != "local" && *concern != "region" && *concern != "all_regions") {
      return usage_error(absl::StrCat(
          "--write-concern: expected local, region or all_regions, got '", *concern, "'"));
    }
    out.concern = *concern;
  }
  return read_option<uint32_t>(args, "--write-timeout-ms", 1, 60000, out.timeout_ms);
}

absl::StatusOr<Command> build_import(const ParsedArgs& args) {
  ImportArgs out;
  out.collection = args.positionals[0];
  out.file = args.positionals[1];
  MERIDIAN_RETURN_IF_ERROR(read_option<uint64_t>(
      args, "--first-id", 0, std::numeric_limits<uint64_t>::max(), out.first_id));
  out.first_id_given = args.option("--first-id") != nullptr;
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--batch", 1, kMaxBatchPoints, out.batch));
  MERIDIAN_RETURN_IF_ERROR(read_write_concern(args, out.write));
  return out;
}

absl::StatusOr<Command> build_search(const ParsedArgs& args) {
  SearchArgs out;
  out.collection = args.positionals[0];
  absl::StatusOr<std::string> queries = required_option(args, "--queries");
  if (!queries.ok()) return queries.status();
  out.queries_file = *queries;
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--k", 1, kMaxTopK, out.k));
  MERIDIAN_RETURN_IF_ERROR(
      read_option<uint32_t>(args, "--batch", 1, kMaxQueriesPerSearch, out.batch));
  if (const std::string* path = args.option("--out")) out.out = *path;
  if (const std::string* path = args.option("--out-dist")) out.out_dist = *path;
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--ef", 1, kMaxHnswEf, out.ef));
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--nprobe", 1, kMaxIvfNprobe, out.nprobe));
  if (const std::string* filter = args.option("--filter")) out.filter = *filter;
  return out;
}

absl::StatusOr<Command> build_recall(const ParsedArgs& args) {
  RecallArgs out;
  out.results_file = args.positionals[0];
  out.ground_truth_file = args.positionals[1];
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--k", 1, kMaxTopK, out.k));
  const std::string* gt_dist = args.option("--gt-dist");
  const std::string* result_dist = args.option("--result-dist");
  if ((gt_dist == nullptr) != (result_dist == nullptr)) {
    return usage_error("--gt-dist and --result-dist go together: give both or neither");
  }
  if (gt_dist != nullptr) {
    out.ground_truth_dist_file = *gt_dist;
    out.result_dist_file = *result_dist;
  }
  return out;
}

absl::StatusOr<Command> build_scroll(const ParsedArgs& args) {
  ScrollArgs out;
  out.collection = args.positionals[0];
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--limit", 1, kMaxScrollLimit, out.limit));
  if (const std::string* cursor = args.option("--cursor")) {
    absl::StatusOr<std::string> bytes = hex_decode(*cursor);
    if (!bytes.ok()) return usage_error(absl::StrCat("--cursor: ", bytes.status().message()));
    out.cursor = *bytes;
  }
  return out;
}

absl::StatusOr<Command> build_payload_set(const ParsedArgs& args, bool overwrite) {
  auto ids = parse_ids({args.positionals[1]});
  if (!ids.ok()) return ids.status();
  return PayloadSetArgs{args.positionals[0], (*ids)[0], args.positionals[2], overwrite};
}

absl::StatusOr<Command> build_gen_dataset(const ParsedArgs& args) {
  GenDatasetArgs out;
  absl::StatusOr<std::string> dir = required_option(args, "--dir");
  if (!dir.ok()) return dir.status();
  absl::StatusOr<std::string> name = required_option(args, "--name");
  if (!name.ok()) return name.status();
  out.dir = *dir;
  out.name = *name;
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--n", 1, 10'000'000, out.n));
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--dim", 1, kMaxDim, out.dim));
  MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(args, "--queries", 1, 1'000'000, out.queries));
  MERIDIAN_RETURN_IF_ERROR(
      read_option<uint64_t>(args, "--seed", 0, std::numeric_limits<uint64_t>::max(), out.seed));
  if (const std::string* metric = args.option("--metric")) {
    if (*metric == "l2") {
      out.metric = Metric::kL2;
    } else if (*metric == "cosine") {
      out.metric = Metric::kCosine;
    } else {
      return usage_error(absl::StrCat("--metric must be l2 or cosine, got '", *metric, "'"));
    }
  }
  return out;
}

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = {
      {"collection create",
       "NAME --dim D --metric l2|cosine|dot [--index flat|hnsw|ivf_flat|ivf_pq] [--m 16] "
       "[--ef-construction 200] [--nlist N] [--pq-m M] [--refine-factor R] "
       "[--quantization none|sq8] [--seal-points 20000] [--rebuild-deleted-percent 20] "
       "[--shards 1] [--replication-factor R]",
       "create a collection (--m, --ef-construction: hnsw graph, defaults 16 and 200; --nlist: "
       "ivf_flat and ivf_pq lists per sealed segment, 1..65536, default chosen per segment; "
       "--pq-m: ivf_pq code bytes per vector, 1..min(dim, 4096), default dim/4 rounded down to a "
       "multiple of 4; --refine-factor: ivf_pq and sq8 searches re-score refine-factor x k "
       "candidates exactly, 1..1024, default 4 for ivf_pq and 2 for sq8; --quantization: hnsw "
       "and ivf_flat sealed segments store float32 (none, default) or 8-bit codes (sq8); "
       "--seal-points: "
       "size at which new points are sealed into the index, searched exactly until then, "
       "100..10000000; --rebuild-deleted-percent: a sealed segment is rebuilt once more than "
       "this share of it is deleted, 1..100; --shards: shards the points are split into by a "
       "hash of their id, 1..256, default 1; --replication-factor: nodes of each region holding "
       "each shard, 1..64, default every node)",
       1,
       1,
       {"--dim", "--metric", "--index", "--m", "--ef-construction", "--nlist", "--pq-m",
        "--refine-factor", "--quantization", "--seal-points", "--rebuild-deleted-percent",
        "--shards", "--replication-factor"},
       build_collection_create},
      {"collection list",
       "",
       "list collections with their sizes",
       0,
       0,
       {},
       [](const ParsedArgs&) -> absl::StatusOr<Command> { return CollectionListArgs{}; }},
      {"collection info",
       "NAME",
       "show a collection's settings and size",
       1,
       1,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         return CollectionInfoArgs{a.positionals[0]};
       }},
      {"collection drop",
       "NAME",
       "delete a collection and all its points",
       1,
       1,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         return CollectionDropArgs{a.positionals[0]};
       }},
      {"import",
       "NAME FILE [--first-id N] [--batch 1000] [--write-concern local|region|all_regions] "
       "[--write-timeout-ms N]",
       "upsert points from FILE.fvecs (ids N, N+1, ...) or FILE.jsonl",
       2,
       2,
       {"--first-id", "--batch", "--write-concern", "--write-timeout-ms"},
       build_import},
      {"search",
       "NAME --queries FILE.fvecs [--k 10] [--out RESULT.ivecs] [--out-dist RESULT_dist.fvecs] "
       "[--batch 1] [--ef N] [--nprobe N] [--filter JSON]",
       "run queries; write result ids/distances; print QPS and latency (--ef: hnsw beam width, "
       "1..4096, default 64; --nprobe: ivf_flat and ivf_pq lists scanned per sealed segment, "
       "1..65536, default max(8, nlist/8); "
       "--filter: only points whose payload matches, e.g. '{\"must\":[{\"key\":\"color\","
       "\"match\":{\"any\":[\"red\",\"blue\"]}},{\"key\":\"year\",\"range\":"
       "{\"gte\":2000}}],\"must_not\":[...],\"should\":[...]}')",
       1,
       1,
       {"--queries", "--k", "--out", "--out-dist", "--batch", "--ef", "--nprobe", "--filter"},
       build_search},
      {"recall",
       "RESULT.ivecs GROUNDTRUTH.ivecs [--k 10] [--gt-dist GT_dist.fvecs --result-dist "
       "RESULT_dist.fvecs]",
       "print recall@k of search results (no server needed)",
       2,
       2,
       {"--k", "--gt-dist", "--result-dist"},
       build_recall},
      {"get",
       "NAME ID...",
       "print points as JSON lines (id, vector, payload)",
       2,
       SIZE_MAX,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         auto ids = parse_ids({a.positionals.begin() + 1, a.positionals.end()});
         if (!ids.ok()) return ids.status();
         return GetArgs{a.positionals[0], *std::move(ids)};
       }},
      {"delete",
       "NAME ID... [--write-concern local|region|all_regions] [--write-timeout-ms N]",
       "delete points by id",
       2,
       SIZE_MAX,
       {"--write-concern", "--write-timeout-ms"},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         auto ids = parse_ids({a.positionals.begin() + 1, a.positionals.end()});
         if (!ids.ok()) return ids.status();
         DeleteArgs out{a.positionals[0], *std::move(ids)};
         MERIDIAN_RETURN_IF_ERROR(read_write_concern(a, out.write));
         return out;
       }},
      {"payload set",
       "NAME ID JSON",
       "merge the JSON object's top-level fields into a point's payload",
       3,
       3,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> { return build_payload_set(a, false); }},
      {"payload overwrite",
       "NAME ID JSON",
       "replace a point's whole payload with the JSON object",
       3,
       3,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> { return build_payload_set(a, true); }},
      {"payload delete-keys",
       "NAME ID KEY...",
       "remove top-level fields from a point's payload",
       3,
       SIZE_MAX,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         auto ids = parse_ids({a.positionals[1]});
         if (!ids.ok()) return ids.status();
         return PayloadDeleteKeysArgs{
             a.positionals[0], (*ids)[0], {a.positionals.begin() + 2, a.positionals.end()}};
       }},
      {"replication-lag",
       "NAME --to HOST:PORT[,HOST:PORT...] [--probes 100] [--interval-ms 20] [--load-rate 0]",
       "write probe points here and time until each --to node shows them (p50/p99/max)",
       1,
       1,
       {"--to", "--probes", "--interval-ms", "--load-rate"},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         ReplicationLagArgs out;
         out.collection = a.positionals[0];
         const std::string* to = a.option("--to");
         if (to == nullptr) return usage_error("missing required option --to");
         for (absl::string_view t : absl::StrSplit(*to, ',', absl::SkipEmpty())) {
           out.targets.emplace_back(t);
         }
         MERIDIAN_RETURN_IF_ERROR(read_option<uint32_t>(a, "--probes", 1, 100000, out.probes));
         MERIDIAN_RETURN_IF_ERROR(
             read_option<uint32_t>(a, "--interval-ms", 0, 60000, out.interval_ms));
         MERIDIAN_RETURN_IF_ERROR(
             read_option<uint32_t>(a, "--load-rate", 0, 1000000, out.load_rate));
         return out;
       }},
      {"count",
       "NAME",
       "print the number of points",
       1,
       1,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> { return CountArgs{a.positionals[0]}; }},
      {"scroll",
       "NAME [--limit 100] [--cursor C]",
       "print one page of points in id order, then the next cursor on stderr",
       1,
       1,
       {"--limit", "--cursor"},
       build_scroll},
      {"status",
       "",
       "show the node's version, identity and totals",
       0,
       0,
       {},
       [](const ParsedArgs&) -> absl::StatusOr<Command> { return StatusArgs{}; }},
      {"gen-dataset",
       "--dir DIR --name NAME [--n 20000] [--dim 64] [--queries 200] [--metric l2|cosine] "
       "[--seed 1]",
       "write a synthetic clustered dataset with exact ground truth (TEXMEX layout)",
       0,
       0,
       {"--dir", "--name", "--n", "--dim", "--queries", "--metric", "--seed"},
       build_gen_dataset},
      {"keygen",
       "--out FILE",
       "create a new master key for encryption at rest (mode 0600; never overwrites)",
       0,
       0,
       {"--out"},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         absl::StatusOr<std::string> out = required_option(a, "--out");
         if (!out.ok()) return out.status();
         return KeygenArgs{*out};
       }},
      {"keys status",
       "",
       "show the node's master keys, the values each seals, and re-seal progress",
       0,
       0,
       {},
       [](const ParsedArgs&) -> absl::StatusOr<Command> { return KeysStatusArgs{}; }},
      {"keys rotate",
       "--key-file FILE",
       "make the key in FILE (a path on the node's machine) active and re-seal everything",
       0,
       0,
       {"--key-file"},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         absl::StatusOr<std::string> file = required_option(a, "--key-file");
         if (!file.ok()) return file.status();
         return KeysRotateArgs{*file};
       }},
      {"keys retire",
       "KEYID",
       "drop a key that no stored value uses any more (KEYID as printed, e.g. 0x1a2b3c4d)",
       1,
       1,
       {},
       [](const ParsedArgs& a) -> absl::StatusOr<Command> {
         const std::string& text = a.positionals[0];
         std::string digits = text.rfind("0x", 0) == 0 ? text.substr(2) : text;
         uint32_t id = 0;
         if (digits.empty() || digits.size() > 8 ||
             digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
           return usage_error(absl::StrCat("KEYID must be hex like 0x1a2b3c4d, got '", text, "'"));
         }
         id = static_cast<uint32_t>(std::stoul(digits, nullptr, 16));
         return KeysRetireArgs{id};
       }},
      {"help",
       "",
       "print this help",
       0,
       0,
       {},
       [](const ParsedArgs&) -> absl::StatusOr<Command> { return HelpArgs{}; }},
  };
  return specs;
}

bool is_option(const std::string& token) { return token.size() > 1 && token[0] == '-'; }

// Splits off `--server` and the help flags; returns the other tokens in order.
struct GlobalSplit {
  std::optional<std::string> server;
  bool help = false;
  std::vector<std::string> rest;
};

absl::StatusOr<GlobalSplit> split_globals(const std::vector<std::string>& args) {
  GlobalSplit split;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (token == "--") {
      split.rest.insert(split.rest.end(), args.begin() + i, args.end());
      break;
    }
    if (token == "--help" || token == "-h") {
      split.help = true;
    } else if (token == "--server") {
      if (i + 1 == args.size()) return usage_error("option --server needs a value HOST:PORT");
      split.server = args[++i];
    } else if (token.starts_with("--server=")) {
      split.server = token.substr(std::string_view("--server=").size());
    } else {
      split.rest.push_back(token);
    }
  }
  return split;
}

// Finds the command named by the leading words of `tokens`; sets `words` to how many it used.
const CommandSpec* find_command(const std::vector<std::string>& tokens, size_t& words) {
  for (const CommandSpec& spec : command_specs()) {
    const size_t space = spec.name.find(' ');
    if (space == std::string_view::npos) {
      if (!tokens.empty() && tokens[0] == spec.name) {
        words = 1;
        return &spec;
      }
    } else if (tokens.size() >= 2 && tokens[0] == spec.name.substr(0, space) &&
               tokens[1] == spec.name.substr(space + 1)) {
      words = 2;
      return &spec;
    }
  }
  return nullptr;
}

absl::StatusOr<ParsedArgs> parse_options(const CommandSpec& spec,
                                         const std::vector<std::string>& tokens) {
  ParsedArgs parsed;
  bool options_ended = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (options_ended || !is_option(token)) {
      parsed.positionals.push_back(token);
      continue;
    }
    if (token == "--") {
      options_ended = true;
      continue;
    }
    std::string name = token;
    std::optional<std::string> value;
    if (size_t eq = token.find('='); eq != std::string::npos) {
      name = token.substr(0, eq);
      value = token.substr(eq + 1);
    }
    if (std::find(spec.value_options.begin(), spec.value_options.end(), name) ==
        spec.value_options.end()) {
      return usage_error(
          absl::StrCat("unknown option ", name, " for '", std::string(spec.name), "'"));
    }
    if (!value) {
      if (i + 1 == tokens.size())
        return usage_error(absl::StrCat("option ", name, " needs a value"));
      value = tokens[++i];
    }
    if (!parsed.options.emplace(name, *value).second) {
      return usage_error(absl::StrCat("option ", name, " given more than once"));
    }
  }
  if (parsed.positionals.size() < spec.min_positionals ||
      parsed.positionals.size() > spec.max_positionals) {
    return usage_error(parsed.positionals.size() < spec.min_positionals
                           ? absl::StrCat("missing arguments for '", std::string(spec.name), "'")
                           : absl::StrCat("too many arguments for '", std::string(spec.name), "'"));
  }
  return parsed;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<Invocation> parse_command_line(const std::vector<std::string>& args,
                                              const std::string& default_server) {
  absl::StatusOr<GlobalSplit> split = split_globals(args);
  if (!split.ok()) return split.status();
  Invocation invocation{split->server.value_or(default_server), HelpArgs{}};
  if (split->help) return invocation;
  if (split->rest.empty()) return usage_error("no command given");
  if (is_option(split->rest[0])) {
    return usage_error(absl::StrCat("expected a command before option ", split->rest[0]));
  }
  size_t words = 0;
  const CommandSpec* spec = find_command(split->rest, words);
  if (spec == nullptr) {
    if (split->rest[0] == "payload") {
      return usage_error("'payload' needs a subcommand: set, overwrite or delete-keys");
    }
    if (split->rest[0] == "collection") {
      return usage_error(split->rest.size() < 2
                             ? "'collection' needs a subcommand: create, list, info or drop"
                             : absl::StrCat("unknown collection subcommand '", split->rest[1],
                                            "' (create, list, info, drop)"));
    }
    return usage_error(absl::StrCat("unknown command '", split->rest[0], "'"));
  }
  absl::StatusOr<ParsedArgs> parsed =
      parse_options(*spec, {split->rest.begin() + words, split->rest.end()});
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<Command> command = spec->build(*parsed);
  if (!command.ok()) return command.status();
  invocation.command = *std::move(command);
  if (needs_server(invocation.command) && invocation.server.empty()) {
    return usage_error("--server is empty; expected HOST:PORT");
  }
  return invocation;
}

bool needs_server(const Command& command) {
  return !std::holds_alternative<HelpArgs>(command) &&
         !std::holds_alternative<RecallArgs>(command) &&
         !std::holds_alternative<GenDatasetArgs>(command) &&
         !std::holds_alternative<KeygenArgs>(command);
}

std::string usage_text() {
  std::string text =
      "usage: meridian [--server HOST:PORT] COMMAND [ARGS]\n"
      "\n"
      "Meridian's command-line client. --server defaults to $MERIDIAN_SERVER, else ";
  absl::StrAppend(&text, kDefaultServer, ".\n\ncommands:\n");
  for (const CommandSpec& spec : command_specs()) {
    absl::StrAppend(&text, "  ", std::string(spec.name));
    if (!spec.arguments.empty()) absl::StrAppend(&text, " ", std::string(spec.arguments));
    absl::StrAppend(&text, "\n      ", std::string(spec.summary), "\n");
  }
  absl::StrAppend(&text,
                  "\nexit status: 0 on success, 1 when the command failed, 2 for a usage "
                  "error.\n");
  return text;
}

std::string short_usage(const std::vector<std::string>& args) {
  absl::StatusOr<GlobalSplit> split = split_globals(args);
  size_t words = 0;
  const CommandSpec* spec = split.ok() ? find_command(split->rest, words) : nullptr;
  std::string text;
  if (spec != nullptr) {
    absl::StrAppend(&text, "usage: meridian [--server HOST:PORT] ", std::string(spec->name));
    if (!spec->arguments.empty()) absl::StrAppend(&text, " ", std::string(spec->arguments));
    absl::StrAppend(&text, "\n");
  } else {
    absl::StrAppend(&text, "usage: meridian [--server HOST:PORT] COMMAND [ARGS]\n");
  }
  absl::StrAppend(&text, "run 'meridian help' for all commands\n");
  return text;
}

std::string hex_encode(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

absl::StatusOr<std::string> hex_decode(const std::string& hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex text has an odd length");
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]);
    const int lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("not a hex string");
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return bytes;
}

}  // namespace meridian::cli
