// End-to-end test of ivf_flat collections through a real meridiand process and real Cap'n Proto
// RPC: create with its parameters (and their validation), upsert sift5k, wait (with a deadline)
// until the background builder has sealed every point into IVF segments, then recall@10 at the
// default nprobe, nprobe 1 and every list; a restart serves the same collection. Also ivf_pq
// collections (default parameters, filters, restart) and hnsw with sq8 quantization against
// plain hnsw, and the validation of their parameters.
#include <signal.h>

#include <algorithm>
#include <set>
#include <thread>

#include "cli/vecs_io.h"
#include "client/client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_support.h"

namespace meridian {
namespace {

using client::Client;
using client::PointData;
using testing::DaemonProcess;
using testing::TempDir;
using namespace std::chrono_literals;

class IvfRpcTest : public ::testing::Test {
 protected:
  void start() {
    client_.reset();
    daemon_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{"--data-dir", (dir_.path() / "data").string(), "--listen",
                                 "127.0.0.1:0", "--insecure-no-encryption"},
        dir_.path() / "meridiand.log");
    auto address = daemon_->wait_listening(30s);
    ASSERT_TRUE(address.has_value()) << daemon_->log();
    auto client = Client::connect(*address);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  void stop() {
    client_.reset();
    ASSERT_TRUE(daemon_->stop(SIGTERM, 30s).has_value());
  }

  // Waits until every point is in a sealed segment and no build is left, or the deadline.
  client::SegmentStats sealed(const std::string& name, uint64_t points) {
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (true) {
      auto info = client_->collection_info(name);
      EXPECT_TRUE(info.ok()) << info.status();
      if (!info.ok()) return {};
      const client::SegmentStats& s = info->segments;
      if ((s.sealed_points == points && s.growing_points == 0 && !s.build_pending) ||
          std::chrono::steady_clock::now() > deadline) {
        EXPECT_EQ(s.sealed_points, points) << "the builder did not seal every point in time";
        return s;
      }
      std::this_thread::sleep_for(20ms);  // polling a condition, with the deadline above
    }
  }

  // recall@10 of a search with `nprobe` against the exact neighbours.
  double recall(const std::string& name, uint32_t nprobe) {
    client::SearchRequest request{.collection = name, .queries = queries_, .k = 10};
    request.nprobe = nprobe;
    auto results = client_->search(request);
    EXPECT_TRUE(results.ok()) << results.status();
    if (!results.ok()) return 0;
    size_t found = 0;
    for (size_t q = 0; q < truth_.size(); ++q) {
      for (const auto& hit : (*results)[q]) found += truth_[q].count(hit.id.as_number());
    }
    return static_cast<double>(found) / static_cast<double>(truth_.size() * 10);
  }

  // Loads sift5k and the exact neighbours of its first 100 queries; false when it is absent.
  bool load_sift() {
    auto dir = testing::dataset_dir("sift5k");
    if (!dir) return false;
    auto base = cli::read_fvecs((*dir / "sift5k_base.fvecs").string());
    auto queries = cli::read_fvecs((*dir / "sift5k_query.fvecs").string());
    EXPECT_TRUE(base.ok()) << base.status();
    EXPECT_TRUE(queries.ok()) << queries.status();
    if (!base.ok() || !queries.ok()) return false;
    dim_ = base->dim;
    base_ = base->data;
    const uint32_t dim = dim_;
    const size_t n = base->rows();
    const size_t nq = std::min<size_t>(queries->rows(), 100);
    queries_.assign(queries->data.begin(), queries->data.begin() + nq * dim);
    for (size_t q = 0; q < nq; ++q) {
      std::vector<std::pair<double, uint64_t>> scored;
      for (size_t i = 0; i < n; ++i) {
        double d = 0;
        for (uint32_t j = 0; j < dim; ++j) {
          const double diff = double(base_[i * dim + j]) - queries_[q * dim + j];
          d += diff * diff;
        }
        scored.emplace_back(d, i);
      }
      std::partial_sort(scored.begin(), scored.begin() + 10, scored.end());
      std::set<uint64_t> ids;
      for (size_t j = 0; j < 10; ++j) ids.insert(scored[j].second);
      truth_.push_back(std::move(ids));
    }
    return true;
  }

  size_t base_rows() const { return base_.size() / dim_; }

  // Upserts every sift5k point into `name`, with payload {"parity": id % 2} when `payloads`.
  void upsert_all(const std::string& name, bool payloads) {
    const size_t n = base_rows();
    for (size_t first = 0; first < n; first += 1000) {
      std::vector<PointData> batch;
      for (size_t i = first; i < std::min(n, first + 1000); ++i) {
        batch.push_back(PointData{PointId::number(i),
                                  {base_.begin() + i * dim_, base_.begin() + (i + 1) * dim_},
                                  payloads ? "{\"parity\": " + std::to_string(i % 2) + "}" : ""});
      }
      auto s = client_->upsert(name, batch);
      ASSERT_TRUE(s.ok()) << s.status();
    }
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
  std::vector<float> queries_;
  std::vector<std::set<uint64_t>> truth_;
  uint32_t dim_ = 0;
  std::vector<float> base_;
};

TEST_F(IvfRpcTest, IvfFlatCollectionOverRpcWithNprobe) {
  if (!load_sift()) GTEST_SKIP() << "sift5k not found beside the checkout";
  const uint32_t dim = dim_;
  const size_t n = base_rows();

  start();
  CollectionConfig config{
      .name = "sift", .dim = dim, .metric = Metric::kL2, .index_kind = IndexKind::kIvfFlat};
  // Parameters out of range are refused with InvalidArgument.
  CollectionConfig bad = config;
  bad.ivf_nlist = kMaxIvfNlist + 1;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.index_kind = IndexKind::kHnsw;
  bad.ivf_nlist = 16;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.segment_seal_points = 10;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);

  config.segment_seal_points = 700;  // 4900 points: seven seals, merged by size tier
  auto created = client_->create_collection(config);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->config.index_kind, IndexKind::kIvfFlat);
  EXPECT_EQ(created->config.ivf_nlist, 0u);
  EXPECT_EQ(created->config.segment_seal_points, 700u);
  EXPECT_EQ(created->config.segment_rebuild_deleted_percent, kDefaultSegmentRebuildDeletedPercent);
  upsert_all("sift", false);
  const client::SegmentStats s = sealed("sift", n);
  EXPECT_GE(s.sealed_segments, 1u);
  EXPECT_GE(s.builds, 7u);

  const double all_lists = recall("sift", kMaxIvfNprobe);
  const double deflt = recall("sift", 0);
  const double one = recall("sift", 1);
  std::printf("sift5k ivf_flat recall@10: nprobe 1 = %.4f, default = %.4f, all lists = %.4f\n", one,
              deflt, all_lists);
  EXPECT_GE(all_lists, 0.99);  // exact, up to ties of sift's integer distances
  EXPECT_GE(deflt, 0.95);
  EXPECT_LT(one, deflt);
  client::SearchRequest too_many{.collection = "sift", .queries = queries_, .k = 10};
  too_many.nprobe = kMaxIvfNprobe + 1;
  MERIDIAN_EXPECT_CODE(client_->search(too_many), absl::StatusCode::kInvalidArgument);

  // A restart reloads the IVF segments from their segment files: nothing is trained again.
  stop();
  start();
  auto info = client_->collection_info("sift");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->point_count, n);
  EXPECT_EQ(info->segments.built_at_start, 0u);
  EXPECT_GE(info->segments.loaded_segments, 1u);
  EXPECT_EQ(info->segments.rejected_files, 0u);
  EXPECT_EQ(info->segments.growing_points, 0u);
  EXPECT_GE(recall("sift", 0), 0.95);
}

TEST_F(IvfRpcTest, IvfPqCollectionOverRpc) {
  if (!load_sift()) GTEST_SKIP() << "sift5k not found beside the checkout";
  const uint32_t dim = dim_;
  const size_t n = base_rows();
  start();
  CollectionConfig config{
      .name = "pq", .dim = dim, .metric = Metric::kL2, .index_kind = IndexKind::kIvfPq};
  // Parameters out of range are refused with InvalidArgument.
  CollectionConfig bad = config;
  bad.pq_m = dim + 1;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.refine_factor = kMaxRefineFactor + 1;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.quantization = Quantization::kSq8;  // ivf_pq has its own codes
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.index_kind = IndexKind::kFlat;
  bad.quantization = Quantization::kSq8;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.index_kind = IndexKind::kHnsw;
  bad.refine_factor = 8;  // hnsw without sq8 keeps nothing to re-rank with
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.index_kind = IndexKind::kIvfFlat;
  bad.pq_m = 8;
  MERIDIAN_EXPECT_CODE(client_->create_collection(bad), absl::StatusCode::kInvalidArgument);

  config.segment_seal_points = 700;  // 4900 points: seven seals
  auto created = client_->create_collection(config);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->config.index_kind, IndexKind::kIvfPq);
  EXPECT_EQ(created->config.pq_m, 0u);
  EXPECT_EQ(created->config.refine_factor, 0u);
  upsert_all("pq", true);
  const client::SegmentStats s = sealed("pq", n);
  EXPECT_GE(s.sealed_segments, 1u);
  const double deflt = recall("pq", 0);
  const double one = recall("pq", 1);
  std::printf("sift5k ivf_pq recall@10 (m %u, refine %u): nprobe 1 = %.4f, default = %.4f\n",
              ivf_pq_m_for(0, dim), kDefaultIvfPqRefineFactor, one, deflt);
  EXPECT_GE(deflt, 0.90);

  // A filtered search returns only matching points, through the index (half the points match).
  client::SearchRequest filtered{.collection = "pq", .queries = queries_, .k = 10};
  filtered.filter = R"({"must": [{"key": "parity", "match": {"value": 1}}]})";
  auto results = client_->search(filtered);
  ASSERT_TRUE(results.ok()) << results.status();
  size_t hits = 0;
  for (const auto& list : *results) {
    for (const auto& hit : list) {
      EXPECT_EQ(hit.id.as_number() % 2, 1u);
      ++hits;
    }
  }
  EXPECT_EQ(hits, truth_.size() * 10);

  // A restart keeps the settings (collection record) and reloads the segments from their files.
  stop();
  start();
  auto info = client_->collection_info("pq");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->config, created->config);
  EXPECT_EQ(info->point_count, n);
  EXPECT_EQ(info->segments.built_at_start, 0u);
  EXPECT_GE(info->segments.loaded_segments, 1u);
  EXPECT_EQ(info->segments.rejected_files, 0u);
  EXPECT_GE(recall("pq", 0), 0.90);
}

TEST_F(IvfRpcTest, HnswSq8RecallCloseToFloat) {
  if (!load_sift()) GTEST_SKIP() << "sift5k not found beside the checkout";
  const uint32_t dim = dim_;
  const size_t n = base_rows();
  start();
  CollectionConfig plain{.name = "hnsw",
                         .dim = dim,
                         .metric = Metric::kL2,
                         .index_kind = IndexKind::kHnsw,
                         .hnsw_ef_construction = 100,
                         .segment_seal_points = 2450};  // 4900 points: two seals
  CollectionConfig sq8 = plain;
  sq8.name = "hnsw_sq8";
  sq8.quantization = Quantization::kSq8;
  ASSERT_TRUE(client_->create_collection(plain).ok());
  auto created = client_->create_collection(sq8);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->config.quantization, Quantization::kSq8);
  upsert_all("hnsw", false);
  upsert_all("hnsw_sq8", false);
  sealed("hnsw", n);
  sealed("hnsw_sq8", n);
  const double float_recall = recall("hnsw", 0);
  const double sq8_recall = recall("hnsw_sq8", 0);
  std::printf("sift5k hnsw recall@10: float32 = %.4f, sq8 = %.4f\n", float_recall, sq8_recall);
  EXPECT_GE(sq8_recall, float_recall - 0.02);

  stop();
  start();
  auto info = client_->collection_info("hnsw_sq8");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->config, created->config);
  EXPECT_GE(recall("hnsw_sq8", 0), float_recall - 0.02);
}

}  // namespace
}  // namespace meridian
