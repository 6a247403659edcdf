// Tests of `meridian` argument parsing: every command's typed arguments and the usage errors.
#include "cli/command_line.h"

#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Invocation> parse(std::vector<std::string> args) {
  return parse_command_line(args, kDefaultServer);
}

template <typename T>
T command_of(std::vector<std::string> args) {
  auto invocation = parse(std::move(args));
  EXPECT_TRUE(invocation.ok()) << invocation.status();
  if (!invocation.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(invocation->command));
  return std::holds_alternative<T>(invocation->command) ? std::get<T>(invocation->command) : T{};
}

void expect_usage_error(std::vector<std::string> args, const std::string& message) {
  auto invocation = parse(args);
  MERIDIAN_EXPECT_CODE(invocation, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(invocation.status().message()), HasSubstr(message));
}

TEST(CommandLineTest, HnswCollectionAndSearchOptions) {
  auto create = command_of<CollectionCreateArgs>({"collection", "create", "h", "--dim", "8",
                                                  "--metric", "cosine", "--index", "hnsw", "--m",
                                                  "24", "--ef-construction", "300"});
  EXPECT_EQ(create.config.index_kind, IndexKind::kHnsw);
  EXPECT_EQ(create.config.hnsw_m, 24u);
  EXPECT_EQ(create.config.hnsw_ef_construction, 300u);
  auto search =
      command_of<SearchArgs>({"search", "h", "--queries", "q.fvecs", "--k", "10", "--ef", "128"});
  EXPECT_EQ(search.ef, 128u);
  expect_usage_error({"search", "h", "--queries", "q.fvecs", "--ef", "5000"}, "--ef");
  EXPECT_EQ(search.filter, "");
  auto filtered =
      command_of<SearchArgs>({"search", "h", "--queries", "q.fvecs", "--filter", R"({"must":[]})"});
  EXPECT_EQ(filtered.filter, R"({"must":[]})");
}

TEST(CommandLineTest, IvfPqAndQuantizationOptions) {
  auto pq = command_of<CollectionCreateArgs>({"collection", "create", "p", "--dim", "128",
                                              "--metric", "l2", "--index", "ivf_pq", "--nlist",
                                              "64", "--pq-m", "16", "--refine-factor", "8"});
  EXPECT_EQ(pq.config.index_kind, IndexKind::kIvfPq);
  EXPECT_EQ(pq.config.ivf_nlist, 64u);
  EXPECT_EQ(pq.config.pq_m, 16u);
  EXPECT_EQ(pq.config.refine_factor, 8u);
  auto defaults = command_of<CollectionCreateArgs>(
      {"collection", "create", "p", "--dim", "128", "--metric", "l2", "--index", "ivf_pq"});
  EXPECT_EQ(defaults.config.pq_m, 0u);
  EXPECT_EQ(defaults.config.refine_factor, 0u);
  auto sq8 = command_of<CollectionCreateArgs>({"collection", "create", "h", "--dim", "8",
                                               "--metric", "l2", "--index", "hnsw",
                                               "--quantization", "sq8", "--refine-factor", "3"});
  EXPECT_EQ(sq8.config.quantization, Quantization::kSq8);
  EXPECT_EQ(sq8.config.refine_factor, 3u);
  const std::vector<std::string> base = {"collection", "create",   "p",  "--dim",
                                         "8",          "--metric", "l2", "--index"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_usage_error(with({"ivf_pq", "--pq-m", "9"}), "--pq-m must be an integer in 1..8");
  expect_usage_error(with({"ivf_pq", "--refine-factor", "1025"}), "--refine-factor");
  expect_usage_error(with({"ivf_pq", "--quantization", "sq8"}),
                     "--quantization sq8 applies to --index hnsw and ivf_flat only");
  expect_usage_error(with({"flat", "--quantization", "sq8"}), "--quantization sq8 applies");
  expect_usage_error(with({"hnsw", "--quantization", "sq4"}), "--quantization must be none or sq8");
  expect_usage_error(with({"hnsw", "--refine-factor", "4"}),
                     "--refine-factor applies to --index ivf_pq and --quantization sq8 only");
  expect_usage_error(with({"ivf_flat", "--pq-m", "4"}), "--pq-m applies to --index ivf_pq only");
}

TEST(CommandLineTest, IvfFlatCollectionSegmentAndSearchOptions) {
  auto create = command_of<CollectionCreateArgs>(
      {"collection", "create", "v", "--dim", "8", "--metric", "l2", "--index", "ivf_flat",
       "--nlist", "64", "--seal-points", "5000", "--rebuild-deleted-percent", "30"});
  EXPECT_EQ(create.config.index_kind, IndexKind::kIvfFlat);
  EXPECT_EQ(create.config.ivf_nlist, 64u);
  EXPECT_EQ(create.config.segment_seal_points, 5000u);
  EXPECT_EQ(create.config.segment_rebuild_deleted_percent, 30u);
  auto defaults = command_of<CollectionCreateArgs>(
      {"collection", "create", "v", "--dim", "8", "--metric", "l2", "--index", "ivf_flat"});
  EXPECT_EQ(defaults.config.ivf_nlist, 0u);
  EXPECT_EQ(defaults.config.segment_seal_points, kDefaultSegmentSealPoints);
  EXPECT_EQ(defaults.config.segment_rebuild_deleted_percent, kDefaultSegmentRebuildDeletedPercent);
  const std::vector<std::string> ivf = {"collection", "create", "v",       "--dim",   "8",
                                        "--metric",   "l2",     "--index", "ivf_flat"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = ivf;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_usage_error(with({"--nlist", "0"}), "--nlist must be an integer in 1..65536");
  expect_usage_error(with({"--nlist", "65537"}), "--nlist");
  expect_usage_error(with({"--seal-points", "99"}), "--seal-points must be an integer in 100..");
  expect_usage_error(with({"--rebuild-deleted-percent", "101"}), "--rebuild-deleted-percent");
  expect_usage_error({"collection", "create", "v", "--dim", "8", "--metric", "l2", "--index",
                      "hnsw", "--nlist", "8"},
                     "--nlist applies to --index ivf_flat and ivf_pq only");
  expect_usage_error(
      {"collection", "create", "v", "--dim", "8", "--metric", "l2", "--seal-points", "1000"},
      "apply to --index hnsw, ivf_flat and ivf_pq only");
  auto search = command_of<SearchArgs>({"search", "v", "--queries", "q.fvecs", "--nprobe", "32"});
  EXPECT_EQ(search.nprobe, 32u);
  EXPECT_EQ(command_of<SearchArgs>({"search", "v", "--queries", "q.fvecs"}).nprobe, 0u);
  expect_usage_error({"search", "v", "--queries", "q.fvecs", "--nprobe", "0"}, "--nprobe");
  expect_usage_error({"search", "v", "--queries", "q.fvecs", "--nprobe", "70000"}, "--nprobe");
}

TEST(CommandLineTest, ServerFromFlagEnvironmentOrDefault) {
  auto a = parse({"--server", "h:1", "status"});
  MERIDIAN_ASSERT_OK(a);
  EXPECT_EQ(a->server, "h:1");
  auto b = parse({"status", "--server=h:2"});
  MERIDIAN_ASSERT_OK(b);
  EXPECT_EQ(b->server, "h:2");
  auto c = parse_command_line({"status"}, "env:3");
  MERIDIAN_ASSERT_OK(c);
  EXPECT_EQ(c->server, "env:3");
  auto d = parse({"status"});
  MERIDIAN_ASSERT_OK(d);
  EXPECT_EQ(d->server, "127.0.0.1:7600");
  expect_usage_error({"status", "--server"}, "--server needs a value");
}

TEST(CommandLineTest, Help) {
  for (auto args :
       std::vector<std::vector<std::string>>{{"help"}, {"--help"}, {"-h"}, {"search", "--help"}}) {
    command_of<HelpArgs>(args);
  }
  const std::string text = usage_text();
  for (const char* command :
       {"collection create", "collection list", "collection info", "collection drop", "import",
        "search", "recall", "get", "delete", "count", "scroll", "status", "gen-dataset"}) {
    EXPECT_THAT(text, HasSubstr(command));
  }
  EXPECT_THAT(short_usage({"search", "x"}), HasSubstr("search NAME --queries"));
}

TEST(CommandLineTest, CollectionCommands) {
  auto create = command_of<CollectionCreateArgs>(
      {"collection", "create", "docs", "--dim", "384", "--metric=cosine", "--index", "flat"});
  EXPECT_EQ(create.config.name, "docs");
  EXPECT_EQ(create.config.dim, 384u);
  EXPECT_EQ(create.config.metric, Metric::kCosine);
  EXPECT_EQ(create.config.index_kind, IndexKind::kFlat);
  // Options may come before the positional.
  auto dot = command_of<CollectionCreateArgs>(
      {"collection", "create", "--metric", "dot", "--dim", "2", "d"});
  EXPECT_EQ(dot.config.metric, Metric::kDot);
  EXPECT_EQ(command_of<CollectionInfoArgs>({"collection", "info", "docs"}).name, "docs");
  EXPECT_EQ(command_of<CollectionDropArgs>({"collection", "drop", "docs"}).name, "docs");
  command_of<CollectionListArgs>({"collection", "list"});
}

TEST(CommandLineTest, ShardingOptions) {
  auto sharded =
      command_of<CollectionCreateArgs>({"collection", "create", "s", "--dim", "8", "--metric", "l2",
                                        "--shards", "4", "--replication-factor", "2"});
  EXPECT_EQ(sharded.config.shard_count, 4u);
  EXPECT_EQ(sharded.config.replication_factor, 2u);
  auto defaults = command_of<CollectionCreateArgs>(
      {"collection", "create", "s", "--dim", "8", "--metric", "l2"});
  EXPECT_EQ(defaults.config.shard_count, 1u);
  EXPECT_EQ(defaults.config.replication_factor, 0u);
  const std::vector<std::string> base = {"collection", "create",   "s", "--dim",
                                         "8",          "--metric", "l2"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_usage_error(with({"--shards", "0"}), "--shards");
  expect_usage_error(with({"--shards", "257"}), "--shards");
  expect_usage_error(with({"--replication-factor", "0"}), "--replication-factor");
  expect_usage_error(with({"--replication-factor", "65"}), "--replication-factor");
}

TEST(CommandLineTest, CollectionCreateErrors) {
  expect_usage_error({"collection", "create", "x", "--metric", "l2"},
                     "missing required option --dim");
  expect_usage_error({"collection", "create", "x", "--dim", "8"}, "--metric");
  expect_usage_error({"collection", "create", "x", "--dim", "8", "--metric", "manhattan"},
                     "--metric must be l2, cosine or dot");
  expect_usage_error({"collection", "create", "x", "--dim", "0", "--metric", "l2"}, "--dim");
  expect_usage_error({"collection", "create", "x", "--dim", "8x", "--metric", "l2"}, "--dim");
  expect_usage_error(
      {"collection", "create", "x", "--dim", "8", "--metric", "l2", "--index", "ivf"},
      "--index must be flat, hnsw, ivf_flat or ivf_pq");
  expect_usage_error({"collection", "create", "x", "--dim", "8", "--metric", "l2", "--m", "8"},
                     "--index hnsw only");
  expect_usage_error(
      {"collection", "create", "x", "--dim", "8", "--metric", "l2", "--index", "hnsw", "--m", "1"},
      "--m");
  expect_usage_error({"collection", "create", "--dim", "8", "--metric", "l2"}, "missing arguments");
  expect_usage_error({"collection"}, "needs a subcommand");
  expect_usage_error({"collection", "rename"}, "unknown collection subcommand 'rename'");
}

TEST(CommandLineTest, Import) {
  auto a = command_of<ImportArgs>({"import", "c", "base.fvecs"});
  EXPECT_EQ(a.collection, "c");
  EXPECT_EQ(a.file, "base.fvecs");
  EXPECT_EQ(a.batch, 1000u);
  EXPECT_FALSE(a.first_id_given);
  auto b = command_of<ImportArgs>({"import", "c", "base.fvecs", "--first-id", "100", "--batch=50"});
  EXPECT_EQ(b.first_id, 100u);
  EXPECT_TRUE(b.first_id_given);
  EXPECT_EQ(b.batch, 50u);
  expect_usage_error({"import", "c", "f", "--batch", "0"}, "--batch");
  expect_usage_error({"import", "c", "f", "--batch", "10001"}, "--batch");
  expect_usage_error({"import", "c"}, "missing arguments");
  expect_usage_error({"import", "c", "f", "g"}, "too many arguments");
}

TEST(CommandLineTest, Search) {
  auto a = command_of<SearchArgs>({"search", "c", "--queries", "q.fvecs", "--k", "100", "--out",
                                   "r.ivecs", "--out-dist", "r_dist.fvecs", "--batch", "32"});
  EXPECT_EQ(a.queries_file, "q.fvecs");
  EXPECT_EQ(a.k, 100u);
  EXPECT_EQ(a.out, "r.ivecs");
  EXPECT_EQ(a.out_dist, "r_dist.fvecs");
  EXPECT_EQ(a.batch, 32u);
  auto b = command_of<SearchArgs>({"search", "c", "--queries", "q.fvecs"});
  EXPECT_EQ(b.k, 10u);
  EXPECT_EQ(b.batch, 1u);
  EXPECT_TRUE(b.out.empty());
  expect_usage_error({"search", "c"}, "missing required option --queries");
  expect_usage_error({"search", "c", "--queries", "q", "--k", "0"}, "--k");
  expect_usage_error({"search", "c", "--queries", "q", "--k", "1", "--k", "2"}, "more than once");
  expect_usage_error({"search", "c", "--queries", "q", "--top", "3"}, "unknown option --top");
  expect_usage_error({"search", "c", "--queries"}, "needs a value");
}

TEST(CommandLineTest, Recall) {
  auto a = command_of<RecallArgs>({"recall", "r.ivecs", "gt.ivecs", "--k", "10"});
  EXPECT_EQ(a.results_file, "r.ivecs");
  EXPECT_EQ(a.ground_truth_file, "gt.ivecs");
  EXPECT_TRUE(a.ground_truth_dist_file.empty());
  auto b = command_of<RecallArgs>(
      {"recall", "r.ivecs", "gt.ivecs", "--gt-dist", "gd.fvecs", "--result-dist", "rd.fvecs"});
  EXPECT_EQ(b.k, 10u);
  EXPECT_EQ(b.ground_truth_dist_file, "gd.fvecs");
  EXPECT_EQ(b.result_dist_file, "rd.fvecs");
  expect_usage_error({"recall", "r", "g", "--gt-dist", "gd"}, "give both or neither");
  auto no_server = parse_command_line({"recall", "r", "g"}, "");
  MERIDIAN_EXPECT_OK(no_server);
  EXPECT_FALSE(needs_server(no_server->command));
}

TEST(CommandLineTest, PointCommands) {
  auto get = command_of<GetArgs>({"get", "c", "1", "123e4567-e89b-12d3-a456-426614174000"});
  ASSERT_EQ(get.ids.size(), 2u);
  EXPECT_EQ(get.ids[0], PointId::number(1));
  EXPECT_FALSE(get.ids[1].is_number());
  auto del = command_of<DeleteArgs>({"delete", "c", "5", "6", "7"});
  EXPECT_EQ(del.ids.size(), 3u);
  EXPECT_EQ(command_of<CountArgs>({"count", "c"}).collection, "c");
  auto scroll = command_of<ScrollArgs>({"scroll", "c", "--limit", "5", "--cursor", "00ff"});
  EXPECT_EQ(scroll.limit, 5u);
  EXPECT_EQ(scroll.cursor, std::string("\x00\xff", 2));
  EXPECT_EQ(command_of<ScrollArgs>({"scroll", "c"}).limit, 100u);
  expect_usage_error({"get", "c"}, "missing arguments");
  expect_usage_error({"get", "c", "x1"}, "neither");
  expect_usage_error({"scroll", "c", "--cursor", "abc"}, "--cursor");
  expect_usage_error({"status", "extra"}, "too many arguments");
}

TEST(CommandLineTest, GenDataset) {
  auto a = command_of<GenDatasetArgs>({"gen-dataset", "--dir", "d", "--name", "syn"});
  EXPECT_EQ(a.n, 20000u);
  EXPECT_EQ(a.dim, 64u);
  EXPECT_EQ(a.queries, 200u);
  EXPECT_EQ(a.metric, Metric::kL2);
  auto b = command_of<GenDatasetArgs>({"gen-dataset", "--dir", "d", "--name", "syn", "--n", "10",
                                       "--dim", "3", "--queries", "2", "--metric", "cosine",
                                       "--seed", "9"});
  EXPECT_EQ(b.n, 10u);
  EXPECT_EQ(b.metric, Metric::kCosine);
  EXPECT_EQ(b.seed, 9u);
  expect_usage_error({"gen-dataset", "--dir", "d"}, "--name");
  expect_usage_error({"gen-dataset", "--dir", "d", "--name", "n", "--metric", "dot"},
                     "l2 or cosine");
}

TEST(CommandLineTest, GeneralErrors) {
  expect_usage_error({}, "no command");
  expect_usage_error({"frobnicate"}, "unknown command 'frobnicate'");
  expect_usage_error({"--dim", "3", "status"}, "expected a command before option --dim");
}

TEST(CommandLineTest, HexRoundTrip) {
  const std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(hex_encode(bytes), "0001abff");
  auto decoded = hex_decode("0001ABff");
  MERIDIAN_ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, bytes);
  MERIDIAN_EXPECT_CODE(hex_decode("0g"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::cli
