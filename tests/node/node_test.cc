// Tests of node::Node over a real LMDB store: exact search against a brute-force oracle for
// every metric, that bad input changes nothing, and that a reopened node serves the same data.
#include "node/node.h"

#include <cmath>
#include <random>

#include "crypto/plaintext_record_sealer.h"
#include "tests/node/node_fixture.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using ::meridian::testing::TempDir;
using storage::PointRecord;

class NodeTest : public NodeFixture {};

std::vector<PointRecord> random_points(size_t n, uint32_t dim, std::mt19937& rng) {
  std::normal_distribution<float> g;
  std::vector<PointRecord> out;
  for (size_t i = 0; i < n; ++i) {
    PointRecord r;
    r.id = PointId::number(i * 3 + 1);
    for (uint32_t d = 0; d < dim; ++d) r.vector.push_back(g(rng));
    out.push_back(std::move(r));
  }
  return out;
}

// Brute force in double precision: ids of the k best points for one query.
std::vector<PointId> oracle(const std::vector<PointRecord>& points, const std::vector<float>& q,
                            Metric metric, size_t k) {
  std::vector<std::pair<double, PointId>> scored;
  for (const auto& p : points) {
    double dot = 0, l2 = 0, np = 0, nq = 0;
    for (size_t d = 0; d < q.size(); ++d) {
      dot += double(p.vector[d]) * q[d];
      l2 += (double(p.vector[d]) - q[d]) * (double(p.vector[d]) - q[d]);
      np += double(p.vector[d]) * p.vector[d];
      nq += double(q[d]) * q[d];
    }
    double key = metric == Metric::kL2    ? l2
                 : metric == Metric::kDot ? -dot
                                          : -dot / std::sqrt(np * nq);
    scored.emplace_back(key, p.id);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<PointId> ids;
  for (size_t i = 0; i < k && i < scored.size(); ++i) ids.push_back(scored[i].second);
  return ids;
}

TEST_F(NodeTest, ExactSearchMatchesBruteForceForEveryMetric) {
  std::mt19937 rng(7);
  const uint32_t dim = 19;
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kDot}) {
    std::string name = std::string("c_") + std::string(metric_name(metric));
    ASSERT_TRUE(node_->create_collection({name, dim, metric, IndexKind::kFlat}).ok());
    auto points = random_points(500, dim, rng);
    ASSERT_TRUE(node_->upsert(name, points).ok());
    // Many queries in one request exercise the batched (BLIS) path; one query the scan path.
    for (size_t nq : {1u, 40u}) {
      std::vector<float> queries;
      for (size_t i = 0; i < nq * dim; ++i)
        queries.push_back(std::normal_distribution<float>()(rng));
      auto results = node_->search(name, queries, SearchParams{10, false, false});
      ASSERT_TRUE(results.ok()) << results.status();
      ASSERT_EQ(results->size(), nq);
      for (size_t q = 0; q < nq; ++q) {
        std::vector<float> query(queries.begin() + q * dim, queries.begin() + (q + 1) * dim);
        std::vector<PointId> got;
        for (const auto& h : (*results)[q]) got.push_back(h.id);
        EXPECT_EQ(got, oracle(points, query, metric, 10)) << metric_name(metric) << " q" << q;
      }
    }
  }
}

TEST_F(NodeTest, L2ScoreIsEuclideanDistanceAndPayloadComesBack) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  std::vector<PointRecord> points = {{PointId::number(1), {0, 0}, R"({"name": "origin"})"},
                                     {PointId::number(2), {3, 4}, ""}};
  ASSERT_TRUE(node_->upsert("c", points).ok());
  std::vector<float> q = {0, 0};
  auto r = node_->search("c", q, SearchParams{5, true, true});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)[0].size(), 2u);
  EXPECT_EQ((*r)[0][0].id, PointId::number(1));
  EXPECT_FLOAT_EQ((*r)[0][0].score, 0.0f);
  EXPECT_EQ((*r)[0][0].payload_json, R"({"name":"origin"})");
  EXPECT_EQ((*r)[0][1].vector, (std::vector<float>{3, 4}));
  EXPECT_FLOAT_EQ((*r)[0][1].score, 5.0f);
}

TEST_F(NodeTest, BadInputIsRejectedAndChangesNothing) {
  ASSERT_TRUE(node_->create_collection({"c", 3, Metric::kCosine, IndexKind::kFlat}).ok());
  ASSERT_TRUE(node_->upsert("c", {{PointId::number(1), {1, 2, 3}, ""}}).ok());
  const float nan = std::nanf(""), inf = INFINITY;
  using V = std::vector<PointRecord>;
  auto expect_invalid = [&](V batch) {
    MERIDIAN_EXPECT_CODE(node_->upsert("c", std::move(batch)), absl::StatusCode::kInvalidArgument);
  };
  // A valid point first in each batch: the whole batch must be refused, not half-applied.
  expect_invalid({{PointId::number(2), {1, 1, 1}, ""}, {PointId::number(3), {1, 2}, ""}});
  expect_invalid({{PointId::number(2), {1, 1, 1}, ""}, {PointId::number(3), {1, nan, 2}, ""}});
  expect_invalid({{PointId::number(2), {1, 1, 1}, ""}, {PointId::number(3), {inf, 1, 2}, ""}});
  expect_invalid({{PointId::number(2), {1, 1, 1}, ""}, {PointId::number(3), {0, 0, 0}, ""}});
  expect_invalid({{PointId::number(2), {1, 1, 1}, "{not json"}});
  expect_invalid({{PointId::number(2), {1, 1, 1}, "[1,2]"}});
  expect_invalid({{PointId::number(2), {1, 1, 1}, std::string(200, '[') + std::string(200, ']')}});
  expect_invalid({});
  expect_invalid(V(kMaxBatchPoints + 1, PointRecord{PointId::number(9), {1, 1, 1}, ""}));
  MERIDIAN_EXPECT_CODE(node_->upsert("nope", {{PointId::number(2), {1, 1, 1}, ""}}),
                       absl::StatusCode::kNotFound);
  MERIDIAN_EXPECT_CODE(node_->create_collection({"c", 3, Metric::kL2, IndexKind::kFlat}),
                       absl::StatusCode::kAlreadyExists);

  std::vector<float> q = {1, 2, 3};
  MERIDIAN_EXPECT_CODE(node_->search("c", q, SearchParams{0}), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(node_->search("c", q, SearchParams{kMaxTopK + 1}),
                       absl::StatusCode::kInvalidArgument);
  std::vector<float> short_q = {1, 2};
  MERIDIAN_EXPECT_CODE(node_->search("c", short_q, SearchParams{1}),
                       absl::StatusCode::kInvalidArgument);
  std::vector<float> nan_q = {1, nan, 3};
  MERIDIAN_EXPECT_CODE(node_->search("c", nan_q, SearchParams{1}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(node_->search("zzz", q, SearchParams{1}), absl::StatusCode::kNotFound);

  EXPECT_EQ(*node_->count("c"), 1u);
  auto all = node_->scroll("c", "", 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->points.size(), 1u);
  EXPECT_EQ(all->points[0].id, PointId::number(1));
}

TEST_F(NodeTest, HugeKReturnsEveryPointOnce) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kDot, IndexKind::kFlat}).ok());
  ASSERT_TRUE(
      node_->upsert("c", {{PointId::number(1), {1, 0}, ""}, {PointId::number(2), {0, 1}, ""}})
          .ok());
  std::vector<float> q = {1, 1};
  auto r = node_->search("c", q, SearchParams{kMaxTopK});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].size(), 2u);
}

TEST_F(NodeTest, DeletedPointsAreNeverReturnedAndStateSurvivesReopen) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  auto uuid = PointId::parse("123e4567-e89b-12d3-a456-426614174000");
  ASSERT_TRUE(node_
                  ->upsert("c", {{PointId::number(1), {0, 0}, ""},
                                 {*uuid, {0.1f, 0}, R"({"u":true})"},
                                 {PointId::number(3), {5, 5}, ""}})
                  .ok());
  std::vector<PointId> gone = {PointId::number(1), PointId::number(99)};
  auto removed = node_->remove("c", gone);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->applied, 1u);
  std::vector<float> q = {0, 0};
  auto r = node_->search("c", q, SearchParams{10});
  ASSERT_EQ((*r)[0].size(), 2u);
  EXPECT_EQ((*r)[0][0].id, *uuid);

  auto before = node_->collection_info("c");
  reopen();
  auto after = node_->collection_info("c");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->point_count, 2u);
  EXPECT_EQ(after->stored_bytes, before->stored_bytes);
  auto r2 = node_->search("c", q, SearchParams{10});
  EXPECT_EQ((*r2)[0][0].id, *uuid);
  auto got = node_->get("c", std::vector<PointId>{*uuid});
  EXPECT_EQ((*got)[0]->payload_json, R"({"u":true})");
}

TEST_F(NodeTest, DropThenRecreateStartsEmpty) {
  ASSERT_TRUE(node_->create_collection({"c", 2, Metric::kL2, IndexKind::kFlat}).ok());
  ASSERT_TRUE(node_->upsert("c", {{PointId::number(1), {0, 0}, ""}}).ok());
  MERIDIAN_ASSERT_OK(node_->drop_collection("c"));
  MERIDIAN_EXPECT_CODE(node_->count("c"), absl::StatusCode::kNotFound);
  ASSERT_TRUE(node_->create_collection({"c", 4, Metric::kL2, IndexKind::kFlat}).ok());
  EXPECT_EQ(*node_->count("c"), 0u);
  reopen();
  EXPECT_EQ(*node_->count("c"), 0u);
  EXPECT_EQ(node_->collection_info("c")->stored.config.dim, 4u);
}

TEST_F(NodeTest, HnswCollectionFindsTheExactNeighboursMostOfTheTimeAndSurvivesReopen) {
  std::mt19937 rng(11);
  const uint32_t dim = 24;
  CollectionConfig config{"h", dim, Metric::kL2, IndexKind::kHnsw};
  ASSERT_TRUE(node_->create_collection(config).ok());
  auto points = random_points(2000, dim, rng);
  for (size_t i = 0; i < points.size(); i += 500) {
    std::vector<PointRecord> batch(points.begin() + i, points.begin() + i + 500);
    ASSERT_TRUE(node_->upsert("h", batch).ok());
  }
  // Delete a tenth; deleted points must never come back.
  std::vector<PointId> gone;
  for (size_t i = 0; i < points.size(); i += 10) gone.push_back(points[i].id);
  ASSERT_TRUE(node_->remove("h", gone).ok());
  std::vector<PointRecord> live;
  for (size_t i = 0; i < points.size(); ++i) {
    if (i % 10 != 0) live.push_back(points[i]);
  }
  auto recall = [&]() {
    size_t hits = 0, total = 0;
    std::mt19937 qrng(5);
    for (int q = 0; q < 50; ++q) {
      std::vector<float> query;
      for (uint32_t d = 0; d < dim; ++d) query.push_back(std::normal_distribution<float>()(qrng));
      auto r = node_->search("h", query, SearchParams{10, false, false, 128});
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return 0.0;
      auto truth = oracle(live, query, Metric::kL2, 10);
      for (const auto& h : (*r)[0]) {
        EXPECT_EQ(std::find(gone.begin(), gone.end(), h.id), gone.end());
        hits += std::find(truth.begin(), truth.end(), h.id) != truth.end();
      }
      total += truth.size();
    }
    return static_cast<double>(hits) / static_cast<double>(total);
  };
  EXPECT_GE(recall(), 0.95);
  MERIDIAN_EXPECT_CODE(node_->search("h", std::vector<float>(dim, 1.0f),
                                     SearchParams{10, false, false, kMaxHnswEf + 1}),
                       absl::StatusCode::kInvalidArgument);
  reopen();
  auto info = node_->collection_info("h");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->stored.config.index_kind, IndexKind::kHnsw);
  EXPECT_EQ(info->point_count, live.size());
  EXPECT_GE(recall(), 0.95);
}

TEST_F(NodeTest, HnswParametersAreValidated) {
  CollectionConfig bad{"h", 8, Metric::kL2, IndexKind::kHnsw, 1, 200};
  MERIDIAN_EXPECT_CODE(node_->create_collection(bad), absl::StatusCode::kInvalidArgument);
  bad.hnsw_m = 16;
  bad.hnsw_ef_construction = kMaxHnswEf + 1;
  MERIDIAN_EXPECT_CODE(node_->create_collection(bad), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::node
