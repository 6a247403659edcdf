// End-to-end tests of the `meridian` binary against a real `meridiand` on an ephemeral port:
// collection admin, import, search, recall (must be 1.0 up to ties: search is exact), point
// commands, and the exit codes and messages of failures.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cli/search_output.h"
#include "cli/vecs_io.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

using ::meridian::testing::built_binary;
using ::meridian::testing::DaemonProcess;
using ::meridian::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the meridian binary with `args`, capturing its output in files under `dir`.
CliResult run_meridian(const std::filesystem::path& dir, std::vector<std::string> args) {
  const std::string binary = built_binary("cli/meridian").string();
  const std::filesystem::path out_path = dir / "cli.out";
  const std::filesystem::path err_path = dir / "cli.err";
  std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::unsetenv("MERIDIAN_SERVER");
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

class CliIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{"--data-dir", (dir_.path() / "data").string(), "--listen",
                                 "127.0.0.1:0", "--insecure-no-encryption"},
        dir_.path() / "meridiand.log");
    auto address = daemon_->wait_listening(std::chrono::seconds(30));
    ASSERT_TRUE(address.has_value()) << daemon_->log();
    server_ = *address;
  }

  // Runs `meridian --server <daemon> args...`.
  CliResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", server_});
    return run_meridian(dir_.path(), std::move(args));
  }

  // Runs a command that must succeed; returns its stdout.
  std::string ok(std::vector<std::string> args) {
    CliResult r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << "stdout: " << r.out << "\nstderr: " << r.err;
    return r.out;
  }

  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

  // Imports `prefix`_base.fvecs into a new collection, searches with `prefix`_query.fvecs and
  // returns the tie-tolerant recall@10 line.
  std::string import_search_recall(const std::string& prefix, const std::string& collection,
                                   uint32_t dim, const std::string& metric,
                                   const std::string& batch) {
    ok({"collection", "create", collection, "--dim", std::to_string(dim), "--metric", metric});
    std::string imported = ok({"import", collection, prefix + "_base.fvecs", "--batch", "700"});
    EXPECT_THAT(imported,
                MatchesRegex("imported [0-9]+ vectors in [0-9.]+ s \\([0-9]+ vectors/s\\)\n"));
    std::string searched =
        ok({"search", collection, "--queries", prefix + "_query.fvecs", "--k", "10", "--out",
            path("r.ivecs"), "--out-dist", path("r_dist.fvecs"), "--batch", batch});
    EXPECT_THAT(searched, HasSubstr("QPS"));
    EXPECT_THAT(searched, HasSubstr("p99"));
    return ok({"recall", path("r.ivecs"), prefix + "_groundtruth.ivecs", "--k", "10", "--gt-dist",
               prefix + "_groundtruth_dist.fvecs", "--result-dist", path("r_dist.fvecs")});
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::string server_;
};

TEST_F(CliIntegrationTest, ExactSearchHasFullRecallOnARealOrGeneratedDataset) {
  std::string prefix;
  uint32_t dim = 0;
  if (auto sift = meridian::testing::dataset_dir("sift5k")) {
    prefix = (*sift / "sift5k").string();
    dim = 128;
  } else {
    ok({"gen-dataset", "--dir", path("gen"), "--name", "syn", "--n", "5000", "--dim", "32",
        "--queries", "50"});
    prefix = path("gen/syn");
    dim = 32;
  }
  EXPECT_EQ(import_search_recall(prefix, "vectors", dim, "l2", "1"), "recall@10 = 1.0000\n");
  // Many queries per request give the same answers.
  ok({"search", "vectors", "--queries", prefix + "_query.fvecs", "--k", "10", "--out",
      path("r.ivecs"), "--out-dist", path("r_dist.fvecs"), "--batch", "25"});
  EXPECT_EQ(ok({"recall", path("r.ivecs"), prefix + "_groundtruth.ivecs", "--k", "10", "--gt-dist",
                prefix + "_groundtruth_dist.fvecs", "--result-dist", path("r_dist.fvecs")}),
            "recall@10 = 1.0000\n");
}

TEST_F(CliIntegrationTest, CosineDistancesMatchGeneratedGroundTruth) {
  ok({"gen-dataset", "--dir", path("gen"), "--name", "cos", "--n", "2000", "--dim", "16",
      "--queries", "20", "--metric", "cosine", "--seed", "3"});
  EXPECT_EQ(import_search_recall(path("gen/cos"), "cosvec", 16, "cosine", "4"),
            "recall@10 = 1.0000\n");
}

TEST_F(CliIntegrationTest, CollectionAndPointCommands) {
  EXPECT_THAT(ok({"collection", "create", "docs", "--dim", "2", "--metric", "cosine"}),
              HasSubstr("created collection docs"));
  std::ofstream(path("p.jsonl"))
      << R"({"id": 1, "vector": [1, 0], "payload": {"title": "one"}})"
      << "\n"
      << R"({"id": "123e4567-e89b-12d3-a456-426614174000", "vector": [0, 1]})"
      << "\n"
      << R"({"id": 3, "vector": [0.5, 0.5]})"
      << "\n";
  EXPECT_THAT(ok({"import", "docs", path("p.jsonl")}), HasSubstr("imported 3 vectors"));
  EXPECT_EQ(ok({"count", "docs"}), "3\n");
  EXPECT_THAT(ok({"collection", "list"}), HasSubstr("docs"));
  std::string info = ok({"collection", "info", "docs"});
  EXPECT_THAT(info, HasSubstr("cosine"));
  EXPECT_THAT(info, HasSubstr("points:  3"));
  EXPECT_EQ(ok({"get", "docs", "1"}), R"({"id":1,"vector":[1,0],"payload":{"title":"one"}})"
                                      "\n");
  EXPECT_THAT(ok({"get", "docs", "123e4567-e89b-12d3-a456-426614174000"}),
              HasSubstr(R"("id":"123e4567-e89b-12d3-a456-426614174000")"));
  CliResult page = cli({"scroll", "docs", "--limit", "2"});
  EXPECT_EQ(page.exit_code, 0) << page.err;
  EXPECT_EQ(std::count(page.out.begin(), page.out.end(), '\n'), 2);
  EXPECT_THAT(page.err, HasSubstr("next cursor: "));
  EXPECT_EQ(ok({"delete", "docs", "1", "99"}), "deleted 1 point\n");
  EXPECT_EQ(ok({"count", "docs"}), "2\n");
  EXPECT_THAT(ok({"status"}), HasSubstr("collections: 1"));
  // A UUID result cannot go into an ivecs file: a clear error, exit 1.
  {
    std::ofstream q(path("q.fvecs"), std::ios::binary);
    const int32_t dim = 2;
    const float query[2] = {0, 1};
    q.write(reinterpret_cast<const char*>(&dim), sizeof dim);
    q.write(reinterpret_cast<const char*>(query), sizeof query);
  }
  CliResult uuid =
      cli({"search", "docs", "--queries", path("q.fvecs"), "--k", "1", "--out", path("u.ivecs")});
  EXPECT_EQ(uuid.exit_code, 1);
  EXPECT_THAT(uuid.err, HasSubstr("ivecs"));
  EXPECT_THAT(ok({"collection", "drop", "docs"}), HasSubstr("dropped collection docs"));
}

TEST_F(CliIntegrationTest, PayloadCommandsAndDigest) {
  ok({"collection", "create", "pay", "--dim", "2", "--metric", "l2"});
  std::ofstream(path("pay.jsonl")) << R"({"id": 1, "vector": [1, 0], "payload": {"a": 1, "b": 2}})"
                                   << "\n";
  ok({"import", "pay", path("pay.jsonl")});
  std::string before = ok({"collection", "info", "pay"});
  EXPECT_THAT(before, ::testing::ContainsRegex("digest:  [0-9a-f]{64}\n"));
  EXPECT_EQ(ok({"payload", "set", "pay", "1", R"({"b": 3, "c": "x"})"}), "updated 1 point\n");
  EXPECT_EQ(ok({"get", "pay", "1"}), R"({"id":1,"vector":[1,0],"payload":{"a":1,"b":3,"c":"x"}})"
                                     "\n");
  EXPECT_EQ(ok({"payload", "delete-keys", "pay", "1", "a", "c"}), "updated 1 point\n");
  EXPECT_EQ(ok({"get", "pay", "1"}), R"({"id":1,"vector":[1,0],"payload":{"b":3}})"
                                     "\n");
  EXPECT_EQ(ok({"payload", "overwrite", "pay", "1", R"({"z": true})"}), "updated 1 point\n");
  EXPECT_EQ(ok({"get", "pay", "1"}), R"({"id":1,"vector":[1,0],"payload":{"z":true}})"
                                     "\n");
  EXPECT_NE(ok({"collection", "info", "pay"}), before);
  CliResult missing = cli({"payload", "set", "pay", "9", "{}"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("does not exist"));
}

TEST_F(CliIntegrationTest, SearchWithAPayloadFilterReturnsOnlyMatchingPoints) {
  for (const char* index : {"flat", "hnsw"}) {
    const std::string name = std::string("filtered_") + index;
    ok({"collection", "create", name, "--dim", "2", "--metric", "l2", "--index", index});
    {
      std::ofstream points(path("f.jsonl"));
      for (int i = 0; i < 40; ++i) {
        points << R"({"id": )" << i << R"(, "vector": [)" << i << ", " << (i % 7)
               << R"(], "payload": {"bucket": )" << (i % 4) << R"(, "tags": [")"
               << (i < 20 ? "low" : "high") << R"("]}})"
               << "\n";
      }
    }
    ok({"import", name, path("f.jsonl")});
    {
      std::ofstream q(path("fq.fvecs"), std::ios::binary);
      const int32_t dim = 2;
      const float query[2] = {10, 3};
      q.write(reinterpret_cast<const char*>(&dim), sizeof dim);
      q.write(reinterpret_cast<const char*>(query), sizeof query);
    }
    const std::string filter =
        R"({"must":[{"key":"bucket","match":{"any":[1,2]}},{"key":"tags","match":{"value":"low"}}],)"
        R"("must_not":[{"key":"bucket","range":{"gte":2,"lte":2}}]})";
    ok({"search", name, "--queries", path("fq.fvecs"), "--k", "10", "--out", path("f.ivecs"),
        "--filter", filter});
    auto ids = cli::read_ivecs(path("f.ivecs"));
    ASSERT_TRUE(ids.ok()) << ids.status();
    ASSERT_EQ(ids->data.size(), 10u);
    // Ids 1, 5, 9, 13, 17 match (bucket 1 and below 20); the rest of the row is padding.
    std::vector<int32_t> got(ids->data.begin(), ids->data.begin() + 5);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<int32_t>{1, 5, 9, 13, 17})) << index;
    for (size_t j = 5; j < 10; ++j) EXPECT_EQ(ids->data[j], cli::kMissingId) << index;
    CliResult bad = cli({"search", name, "--queries", path("fq.fvecs"), "--filter",
                         R"({"must":[{"key":"bucket","match":{"value":1.5}}]})"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_THAT(bad.err, HasSubstr("filter: "));
  }
}

TEST_F(CliIntegrationTest, FailuresExitOneWithAClearMessage) {
  CliResult unknown = cli({"count", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, MatchesRegex("error: .*nosuch.*\n"));

  ok({"gen-dataset", "--dir", path("gen"), "--name", "d8", "--n", "100", "--dim", "8", "--queries",
      "2"});
  ok({"collection", "create", "c4", "--dim", "4", "--metric", "l2"});
  CliResult wrong_dim = cli({"import", "c4", path("gen/d8_base.fvecs")});
  EXPECT_EQ(wrong_dim.exit_code, 1);
  EXPECT_THAT(wrong_dim.err, HasSubstr("dimension 8"));
  CliResult wrong_query = cli({"search", "c4", "--queries", path("gen/d8_query.fvecs")});
  EXPECT_EQ(wrong_query.exit_code, 1);
  EXPECT_THAT(wrong_query.err, HasSubstr("dimension"));

  CliResult duplicate = cli({"collection", "create", "c4", "--dim", "4", "--metric", "l2"});
  EXPECT_EQ(duplicate.exit_code, 1);
  EXPECT_THAT(duplicate.err, HasSubstr("error: "));

  // A bad line anywhere in a file imports nothing and names the line.
  std::ofstream(path("bad.jsonl")) << R"({"id": 1, "vector": [1, 2, 3, 4]})"
                                   << "\n"
                                   << R"({"id": 2, "vector": [1, 2, 3]})"
                                   << "\n";
  CliResult bad = cli({"import", "c4", path("bad.jsonl")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("bad.jsonl:2:"));
  EXPECT_EQ(ok({"count", "c4"}), "0\n");

  CliResult usage = cli({"search", "c4"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("usage: meridian"));

  EXPECT_TRUE(daemon_->stop(SIGTERM, std::chrono::seconds(30)).has_value());
  CliResult refused = cli({"status"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("cannot connect to meridiand at " + server_));
}

}  // namespace
}  // namespace meridian::cli
