// Tests of persisted segments through node::Node over a real store: a restart reloads sealed
// segment files (no rebuild), a missing, truncated, tampered or unknown-version file is rebuilt
// from the stored points (counted, logged, no crash), points deleted or changed while a file was
// not rewritten are never served from it, encrypted files round-trip under the key ring, and
// dropping a collection removes its files; the same for IVF-Flat (float32 and sq8) and IVF-PQ
// segments, which reload without training again. Also filtered IVF-Flat recall at 50%, 10% and 1%
// selectivity, and sq8 IVF-Flat recall against float32 at the default nprobe.
#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/vecs_io.h"
#include "crypto/master_key.h"
#include "node/filtered_scan.h"
#include "node/node.h"
#include "tests/node/node_fixture.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using storage::PointRecord;
using namespace std::chrono_literals;

std::vector<float> random_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * dim);
  for (float& x : out) x = g(rng);
  return out;
}

class SegmentRestartTest : public NodeFixture {
 protected:
  NodeOptions node_options() const override {
    NodeOptions options;
    options.segment_dir = dir_.path() / "segments";
    options.segment_keys = keys_;
    // One build thread: HNSW graphs are then reproducible, so the checks below (exact scores
    // before and after a restart) are too.
    options.index_build_threads = 1;
    return options;
  }

  // Creates `name` and upserts n points (ids 0..n-1, payload {"bucket": id % 100}).
  void load(const std::string& name, IndexKind kind, uint32_t dim, const std::vector<float>& v,
            uint32_t seal_points) {
    CollectionConfig config{.name = name, .dim = dim, .metric = Metric::kL2, .index_kind = kind};
    config.segment_seal_points = seal_points;
    load(config, v);
  }
  // Creates config.name with `config` and upserts its points as above.
  void load(const CollectionConfig& config, const std::vector<float>& v) {
    const std::string& name = config.name;
    const uint32_t dim = config.dim;
    MERIDIAN_ASSERT_OK(node_->create_collection(config).status());
    const size_t n = v.size() / dim;
    for (size_t first = 0; first < n; first += kMaxBatchPoints) {
      std::vector<PointRecord> batch;
      for (size_t i = first; i < std::min(n, first + kMaxBatchPoints); ++i) {
        PointRecord r;
        r.id = PointId::number(i);
        r.vector.assign(v.begin() + i * dim, v.begin() + (i + 1) * dim);
        r.payload_json = absl::StrCat(R"({"bucket":)", i % 100, "}");
        batch.push_back(std::move(r));
      }
      MERIDIAN_ASSERT_OK(node_->upsert(name, std::move(batch)).status());
    }
  }

  // Waits (with a deadline) until the collection's builder has nothing left to do.
  SegmentStats settled(const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (true) {
      auto info = node_->collection_info(name);
      EXPECT_TRUE(info.ok()) << info.status();
      if (!info.ok()) return {};
      const SegmentStats& s = info->segments;
      if ((!s.build_pending && s.pending_segments == 0) ||
          std::chrono::steady_clock::now() > deadline) {
        EXPECT_FALSE(s.build_pending) << "builds did not settle in time";
        return s;
      }
      std::this_thread::sleep_for(5ms);  // polling a condition, with the deadline above
    }
  }

  std::vector<std::filesystem::path> files_of(const std::string& name) {
    std::vector<std::filesystem::path> out;
    std::error_code error;
    for (const auto& dir : std::filesystem::directory_iterator(dir_.path() / "segments", error)) {
      if (dir.path().filename().string().find(name) == std::string::npos) continue;
      for (const auto& f : std::filesystem::directory_iterator(dir.path())) out.push_back(f.path());
    }
    return out;
  }

  // Every point's own vector finds it first; deleted ids are never returned.
  void expect_serves(const std::string& name, const std::vector<float>& v, uint32_t dim,
                     const std::set<uint64_t>& deleted) {
    for (size_t i = 0; i < v.size() / dim; i += 7) {
      std::vector<float> q(v.begin() + i * dim, v.begin() + (i + 1) * dim);
      auto hits = node_->search(name, q, SearchParams{10, false, false, 128});
      ASSERT_TRUE(hits.ok()) << hits.status();
      for (const auto& h : (*hits)[0]) EXPECT_FALSE(deleted.contains(h.id.as_number()));
      if (deleted.contains(i)) continue;
      ASSERT_FALSE((*hits)[0].empty());
      EXPECT_EQ((*hits)[0][0].id, PointId::number(i));
    }
  }

  std::function<std::shared_ptr<const crypto::KeyRing>()> keys_;
};

constexpr uint32_t kDim = 8;

TEST_F(SegmentRestartTest, RestartReloadsSegmentFilesWithoutRebuilding) {
  const auto v = random_vectors(1000, kDim, 1);
  load("h", IndexKind::kHnsw, kDim, v, 500);
  SegmentStats s = settled("h");
  EXPECT_EQ(s.sealed_segments, 1u);  // two 500-point seals, then one merge
  EXPECT_EQ(s.sealed_points, 1000u);
  ASSERT_EQ(files_of("h").size(), 1u);
  std::vector<float> q(v.begin(), v.begin() + kDim);
  auto before = node_->search("h", q, SearchParams{10, false, false, 0});
  ASSERT_TRUE(before.ok());

  reopen();
  s = settled("h");
  EXPECT_EQ(s.loaded_segments, 1u);
  EXPECT_EQ(s.built_at_start, 0u);
  EXPECT_EQ(s.rejected_files, 0u);
  EXPECT_EQ(s.builds, 0u);
  EXPECT_EQ(s.sealed_points, 1000u);
  auto after = node_->search("h", q, SearchParams{10, false, false, 0});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ((*after)[0].size(), (*before)[0].size());
  for (size_t i = 0; i < (*after)[0].size(); ++i) {
    EXPECT_EQ((*after)[0][i].id, (*before)[0][i].id);
    EXPECT_EQ((*after)[0][i].score, (*before)[0][i].score);
  }
  expect_serves("h", v, kDim, {});
}

TEST_F(SegmentRestartTest, MissingTruncatedOrTamperedFileIsRebuiltFromThePoints) {
  const auto v = random_vectors(1000, kDim, 2);
  load("h", IndexKind::kHnsw, kDim, v, 500);
  settled("h");
  for (const char* damage : {"delete", "truncate", "flip"}) {
    SCOPED_TRACE(damage);
    auto files = files_of("h");
    ASSERT_EQ(files.size(), 1u);
    const std::string name = damage;
    if (name == "delete") {
      std::filesystem::remove(files[0]);
    } else {
      std::ifstream in(files[0], std::ios::binary);
      std::string bytes(std::istreambuf_iterator<char>(in), {});
      in.close();
      if (name == "truncate") {
        bytes.resize(bytes.size() / 3);
      } else {
        bytes[bytes.size() / 2] ^= 0x01;
      }
      std::ofstream(files[0], std::ios::binary | std::ios::trunc) << bytes;
    }
    reopen();
    SegmentStats s = settled("h");
    EXPECT_EQ(s.loaded_segments, 0u);
    EXPECT_EQ(s.built_at_start, 1u);
    EXPECT_EQ(s.rejected_files, name == "delete" ? 0u : 1u);
    EXPECT_EQ(s.sealed_points, 1000u);
    EXPECT_EQ(*node_->count("h"), 1000u);
    expect_serves("h", v, kDim, {});
    // The rebuilt segment was written again: the next start loads it.
    reopen();
    s = settled("h");
    EXPECT_EQ(s.loaded_segments, 1u);
    EXPECT_EQ(s.built_at_start, 0u);
  }
}

TEST_F(SegmentRestartTest, PointsDeletedOrChangedAfterTheFileWasWrittenAreNotServedFromIt) {
  const auto v = random_vectors(1000, kDim, 3);
  load("h", IndexKind::kHnsw, kDim, v, 500);
  settled("h");
  std::set<uint64_t> deleted;
  std::vector<PointId> ids;
  for (uint64_t i = 0; i < 1000; i += 10) {  // 10%: below the compaction threshold
    deleted.insert(i);
    ids.push_back(PointId::number(i));
  }
  MERIDIAN_ASSERT_OK(node_->remove("h", ids).status());
  // Point 5 moves far away.
  std::vector<float> moved(kDim, 50.0f);
  MERIDIAN_ASSERT_OK(node_->upsert("h", {PointRecord{PointId::number(5), moved, ""}}).status());
  EXPECT_EQ(settled("h").builds, 3u);  // no compaction or rewrite happened

  reopen();
  SegmentStats s = settled("h");
  EXPECT_EQ(s.loaded_segments, 1u);
  EXPECT_EQ(s.built_at_start, 0u);
  EXPECT_EQ(s.growing_points, 1u);  // point 5's new vector
  EXPECT_EQ(*node_->count("h"), 900u);
  std::vector<float> old5(v.begin() + 5 * kDim, v.begin() + 6 * kDim);
  auto near_old = node_->search("h", old5, SearchParams{1000, false, false, 1000});
  ASSERT_TRUE(near_old.ok());
  EXPECT_EQ((*near_old)[0].size(), 900u);
  for (const auto& h : (*near_old)[0]) {
    EXPECT_FALSE(deleted.contains(h.id.as_number())) << h.id.to_string();
    if (h.id == PointId::number(5)) {
      EXPECT_NEAR(h.score, std::sqrt(50.0 * 50.0 * kDim), 60.0);
    }
  }
  auto near_new = node_->search("h", moved, SearchParams{1, false, false, 0});
  ASSERT_TRUE(near_new.ok());
  EXPECT_EQ((*near_new)[0][0].id, PointId::number(5));
  EXPECT_EQ((*near_new)[0][0].score, 0.0f);
}

TEST_F(SegmentRestartTest, EncryptedSegmentFilesReloadAndDropRemovesThem) {
  auto key = crypto::MasterKey::generate();
  ASSERT_TRUE(key.ok());
  auto ring = crypto::KeyRing::create(*std::move(key));
  ASSERT_TRUE(ring.ok());
  std::shared_ptr<const crypto::KeyRing> keys = *ring;
  keys_ = [keys] { return keys; };
  reopen();
  const auto v = random_vectors(600, kDim, 4);
  load("h", IndexKind::kHnsw, kDim, v, 600);
  settled("h");
  auto files = files_of("h");
  ASSERT_EQ(files.size(), 1u);
  std::ifstream in(files[0], std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(bytes.rfind("MSFL", 0), 0u);  // a sealed file
  reopen();
  EXPECT_EQ(settled("h").loaded_segments, 1u);
  expect_serves("h", v, kDim, {});
  // A node that lost the key rebuilds from the points (which it can still read here: the
  // fixture's records are plaintext).
  auto other = crypto::MasterKey::generate();
  std::shared_ptr<const crypto::KeyRing> other_keys = *crypto::KeyRing::create(*std::move(other));
  keys_ = [other_keys] { return other_keys; };
  reopen();
  SegmentStats s = settled("h");
  EXPECT_EQ(s.rejected_files, 1u);
  EXPECT_EQ(s.built_at_start, 1u);
  MERIDIAN_ASSERT_OK(node_->drop_collection("h"));
  EXPECT_TRUE(files_of("h").empty());
}

// The IVF storages: float32 IVF-Flat, IVF-Flat sq8, IVF-PQ (a code byte per dimension, so that
// every point's own vector finds it first).
std::vector<CollectionConfig> ivf_configs(uint32_t seal_points) {
  CollectionConfig flat{.name = "ivf_flat", .dim = kDim, .index_kind = IndexKind::kIvfFlat};
  flat.segment_seal_points = seal_points;
  CollectionConfig sq8 = flat;
  sq8.name = "ivf_sq8";
  sq8.quantization = Quantization::kSq8;
  CollectionConfig pq = flat;
  pq.name = "ivf_pq";
  pq.index_kind = IndexKind::kIvfPq;
  pq.pq_m = kDim;
  return {flat, sq8, pq};
}

// Search results (ids and scores) of every 50th point's vector at the default nprobe.
std::vector<std::vector<std::pair<PointId, float>>> results_of(Node& node, const std::string& name,
                                                               const std::vector<float>& v) {
  std::vector<float> queries;
  for (size_t i = 0; i < v.size() / kDim; i += 50) {
    queries.insert(queries.end(), v.begin() + i * kDim, v.begin() + (i + 1) * kDim);
  }
  auto hits = node.search(name, queries, SearchParams{10, false, false, 0});
  EXPECT_TRUE(hits.ok()) << hits.status();
  std::vector<std::vector<std::pair<PointId, float>>> out;
  if (!hits.ok()) return out;
  for (const auto& list : *hits) {
    out.emplace_back();
    for (const auto& h : list) out.back().emplace_back(h.id, h.score);
  }
  return out;
}

TEST_F(SegmentRestartTest, RestartReloadsIvfSegmentFilesWithoutRetraining) {
  const auto v = random_vectors(1000, kDim, 11);
  for (const CollectionConfig& config : ivf_configs(500)) {
    SCOPED_TRACE(config.name);
    load(config, v);
    SegmentStats s = settled(config.name);
    EXPECT_EQ(s.sealed_segments, 1u);  // two 500-point seals, then one merge
    EXPECT_EQ(s.sealed_points, 1000u);
    ASSERT_EQ(files_of(config.name).size(), 1u);
  }
  std::vector<std::vector<std::vector<std::pair<PointId, float>>>> before;
  for (const CollectionConfig& config : ivf_configs(500)) {
    before.push_back(results_of(*node_, config.name, v));
  }

  reopen();
  const auto configs = ivf_configs(500);
  for (size_t c = 0; c < configs.size(); ++c) {
    SCOPED_TRACE(configs[c].name);
    SegmentStats s = settled(configs[c].name);
    // Loaded from the file: no k-means training at start, nor a background build afterwards.
    EXPECT_EQ(s.loaded_segments, 1u);
    EXPECT_EQ(s.built_at_start, 0u);
    EXPECT_EQ(s.rejected_files, 0u);
    EXPECT_EQ(s.builds, 0u);
    EXPECT_EQ(s.sealed_points, 1000u);
    EXPECT_EQ(s.growing_points, 0u);
    EXPECT_EQ(results_of(*node_, configs[c].name, v), before[c]);
    expect_serves(configs[c].name, v, kDim, {});
  }
}

TEST_F(SegmentRestartTest, MissingTruncatedOrTamperedIvfFileIsRebuiltFromThePoints) {
  const auto v = random_vectors(1000, kDim, 12);
  const auto configs = ivf_configs(500);
  for (const CollectionConfig& config : configs) {
    load(config, v);
    settled(config.name);
  }
  // "version": a format version this reader does not know, under a valid checksum (a file from
  // a newer node after a downgrade), is rebuilt like a damaged file.
  for (const char* damage : {"delete", "truncate", "flip", "version"}) {
    SCOPED_TRACE(damage);
    const std::string how = damage;
    for (const CollectionConfig& config : configs) {
      auto files = files_of(config.name);
      ASSERT_EQ(files.size(), 1u) << config.name;
      if (how == "delete") {
        std::filesystem::remove(files[0]);
        continue;
      }
      std::ifstream in(files[0], std::ios::binary);
      std::string bytes(std::istreambuf_iterator<char>(in), {});
      in.close();
      if (how == "truncate") {
        bytes.resize(bytes.size() / 3);
      } else if (how == "flip") {
        bytes[bytes.size() / 2] ^= 0x01;
      } else {
        ASSERT_EQ(bytes.substr(0, 4), "MSEG");  // plaintext files: the payload itself
        bytes[4] = 9;
        bytes.resize(bytes.size() - crypto_generichash_BYTES);
        std::string sum(crypto_generichash_BYTES, '\0');
        crypto_generichash(reinterpret_cast<unsigned char*>(sum.data()), sum.size(),
                           reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                           nullptr, 0);
        bytes += sum;
      }
      std::ofstream(files[0], std::ios::binary | std::ios::trunc) << bytes;
    }
    reopen();
    for (const CollectionConfig& config : configs) {
      SCOPED_TRACE(config.name);
      SegmentStats s = settled(config.name);
      EXPECT_EQ(s.loaded_segments, 0u);
      EXPECT_EQ(s.built_at_start, 1u);
      EXPECT_EQ(s.rejected_files, how == "delete" ? 0u : 1u);
      EXPECT_EQ(s.sealed_points, 1000u);
      EXPECT_EQ(*node_->count(config.name), 1000u);
      expect_serves(config.name, v, kDim, {});
    }
    // The rebuilt segments were written again: the next start loads them.
    reopen();
    for (const CollectionConfig& config : configs) {
      SegmentStats s = settled(config.name);
      EXPECT_EQ(s.loaded_segments, 1u) << config.name;
      EXPECT_EQ(s.built_at_start, 0u) << config.name;
    }
  }
}

TEST_F(SegmentRestartTest, IvfPointsDeletedOrChangedAfterTheFileWasWrittenAreNotServedFromIt) {
  const auto v = random_vectors(1000, kDim, 13);
  for (const CollectionConfig& config : ivf_configs(500)) {
    SCOPED_TRACE(config.name);
    load(config, v);
    settled(config.name);
    std::set<uint64_t> deleted;
    std::vector<PointId> ids;
    for (uint64_t i = 0; i < 1000; i += 10) {  // 10%: below the compaction threshold
      deleted.insert(i);
      ids.push_back(PointId::number(i));
    }
    MERIDIAN_ASSERT_OK(node_->remove(config.name, ids).status());
    std::vector<float> moved(kDim, 50.0f);
    MERIDIAN_ASSERT_OK(
        node_->upsert(config.name, {PointRecord{PointId::number(5), moved, ""}}).status());
    EXPECT_EQ(settled(config.name).builds, 3u);  // no compaction or rewrite happened

    reopen();
    SegmentStats s = settled(config.name);
    EXPECT_EQ(s.loaded_segments, 1u);
    EXPECT_EQ(s.built_at_start, 0u);
    EXPECT_EQ(s.growing_points, 1u);  // point 5's new vector
    EXPECT_EQ(*node_->count(config.name), 900u);
    SearchParams all{1000, false, false, 0};
    all.nprobe = kMaxIvfNprobe;
    std::vector<float> old5(v.begin() + 5 * kDim, v.begin() + 6 * kDim);
    auto near_old = node_->search(config.name, old5, all);
    ASSERT_TRUE(near_old.ok());
    EXPECT_EQ((*near_old)[0].size(), 900u);
    for (const auto& h : (*near_old)[0]) {
      EXPECT_FALSE(deleted.contains(h.id.as_number())) << h.id.to_string();
    }
    auto near_new = node_->search(config.name, moved, SearchParams{1, false, false, 0});
    ASSERT_TRUE(near_new.ok());
    EXPECT_EQ((*near_new)[0][0].id, PointId::number(5));
    EXPECT_EQ((*near_new)[0][0].score, 0.0f);
    expect_serves(config.name, v, kDim, deleted);
  }
}

// Points carry {"bucket": id % 100}: a filter on buckets [0, n) matches n% of them.
std::string buckets_below(int n) {
  std::vector<int> any(n);
  for (int i = 0; i < n; ++i) any[i] = i;
  return absl::StrCat(R"({"must":[{"key":"bucket","match":{"any":[)", absl::StrJoin(any, ","),
                      "]}}]}");
}

double filtered_recall(Node& node, const std::string& name, const std::vector<float>& base,
                       const std::vector<float>& queries, uint32_t dim, int buckets,
                       uint32_t nprobe) {
  size_t found = 0, wanted = 0;
  SearchParams params;
  params.k = 10;
  params.nprobe = nprobe;
  params.filter_json = buckets_below(buckets);
  auto hits = node.search(name, queries, params);
  EXPECT_TRUE(hits.ok()) << hits.status();
  if (!hits.ok()) return 0;
  for (size_t q = 0; q < queries.size() / dim; ++q) {
    std::vector<std::pair<double, uint64_t>> scored;
    for (size_t i = 0; i < base.size() / dim; ++i) {
      if (static_cast<int>(i % 100) >= buckets) continue;
      double d = 0;
      for (uint32_t j = 0; j < dim; ++j) {
        const double diff = double(base[i * dim + j]) - queries[q * dim + j];
        d += diff * diff;
      }
      scored.emplace_back(d, i);
    }
    std::sort(scored.begin(), scored.end());
    std::set<uint64_t> truth;
    for (size_t j = 0; j < std::min<size_t>(10, scored.size()); ++j) truth.insert(scored[j].second);
    for (const auto& h : (*hits)[q]) {
      EXPECT_LT(static_cast<int>(h.id.as_number() % 100), buckets);
      found += truth.count(h.id.as_number());
    }
    wanted += truth.size();
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

TEST_F(SegmentRestartTest, FilteredIvfRecallAtFiftyTenAndOnePercentSelectivity) {
  uint32_t dim = 16;
  std::vector<float> base, queries;
  if (auto dir = ::meridian::testing::dataset_dir("sift5k")) {
    auto b = cli::read_fvecs((*dir / "sift5k_base.fvecs").string());
    auto q = cli::read_fvecs((*dir / "sift5k_query.fvecs").string());
    MERIDIAN_ASSERT_OK(b.status());
    MERIDIAN_ASSERT_OK(q.status());
    dim = b->dim;
    base = b->data;
    queries.assign(q->data.begin(), q->data.begin() + std::min<size_t>(q->rows(), 100) * dim);
    std::printf("dataset: sift5k\n");
  } else {
    std::printf("dataset: random (sift5k not found)\n");
    base = random_vectors(4900, dim, 5);  // as many as sift5k: seven sealed segments of 700
    queries = random_vectors(100, dim, 6);
  }
  // Uniform random vectors have no clusters, the hardest case for IVF: the issue's 0.95 is for
  // the real dataset; the fallback (CI has no datasets) still has to clear 0.90.
  const double wanted = ::meridian::testing::dataset_dir("sift5k") ? 0.95 : 0.90;
  // Sealed at 700 points: everything (4900 sift5k points) ends in IVF segments, none in the
  // exact growing one.
  load("ivf", IndexKind::kIvfFlat, dim, base, 700);
  const SegmentStats s = settled("ivf");
  EXPECT_EQ(s.growing_points, 0u);
  EXPECT_EQ(s.sealed_points, base.size() / dim);
  for (int buckets : {50, 10, 1}) {
    const double deflt = filtered_recall(*node_, "ivf", base, queries, dim, buckets, 0);
    std::printf("ivf_flat: recall@10 at %d%% selectivity = %.4f (default nprobe)\n", buckets,
                deflt);
    EXPECT_GE(deflt, wanted) << buckets << "% selectivity";
  }
  // Without a filter the planner never scans exactly: nprobe matters, and all lists is exact.
  EXPECT_EQ(filtered_recall(*node_, "ivf", base, queries, dim, 100, kMaxIvfNprobe), 1.0);
  const double one = filtered_recall(*node_, "ivf", base, queries, dim, 100, 1);
  const double deflt = filtered_recall(*node_, "ivf", base, queries, dim, 100, 0);
  std::printf("ivf_flat: recall@10 unfiltered: nprobe 1 = %.4f, default = %.4f\n", one, deflt);
  EXPECT_LT(one, deflt);
  SearchParams bad;
  bad.nprobe = kMaxIvfNprobe + 1;
  MERIDIAN_EXPECT_CODE(
      node_->search("ivf", std::vector<float>(queries.begin(), queries.begin() + dim), bad),
      absl::StatusCode::kInvalidArgument);
}

// Gaussian points around 50 random centres (clustered like real embeddings): the fallback when
// sift5k is absent.
std::vector<float> clustered_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> centres(50 * dim);
  for (float& c : centres) c = 3.0f * g(rng);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + (rng() % 50) * dim;
    for (uint32_t d = 0; d < dim; ++d) out[i * dim + d] = c[d] + g(rng);
  }
  return out;
}

// Unfiltered recall@10 (l2) of a collection at its default nprobe against brute force.
double recall_at_default_nprobe(Node& node, const std::string& name, const std::vector<float>& base,
                                const std::vector<float>& queries, uint32_t dim) {
  auto hits = node.search(name, queries, SearchParams{10, false, false, 0});
  EXPECT_TRUE(hits.ok()) << hits.status();
  if (!hits.ok()) return 0;
  size_t found = 0, wanted = 0;
  for (size_t q = 0; q < queries.size() / dim; ++q) {
    std::vector<std::pair<double, uint64_t>> scored;
    for (size_t i = 0; i < base.size() / dim; ++i) {
      double d = 0;
      for (uint32_t j = 0; j < dim; ++j) {
        const double diff = double(base[i * dim + j]) - queries[q * dim + j];
        d += diff * diff;
      }
      scored.emplace_back(d, i);
    }
    std::partial_sort(scored.begin(), scored.begin() + 10, scored.end());
    std::set<uint64_t> truth;
    for (size_t j = 0; j < 10; ++j) truth.insert(scored[j].second);
    for (const auto& h : (*hits)[q]) found += truth.count(h.id.as_number());
    wanted += truth.size();
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

// ivf_flat with quantization sq8 against float32 ivf_flat, both at the default nprobe and with
// every point in sealed segments: recall@10 within 0.01, and at least 0.95 (what the issue asks
// of IVF at default parameters) on sift5k and on the generated fallback (CI has no datasets).
TEST_F(SegmentRestartTest, IvfFlatSq8RecallCloseToFloat32AtDefaultNprobe) {
  uint32_t dim = 32;
  std::vector<float> base, queries;
  if (auto dir = ::meridian::testing::dataset_dir("sift5k")) {
    auto b = cli::read_fvecs((*dir / "sift5k_base.fvecs").string());
    auto q = cli::read_fvecs((*dir / "sift5k_query.fvecs").string());
    MERIDIAN_ASSERT_OK(b.status());
    MERIDIAN_ASSERT_OK(q.status());
    dim = b->dim;
    base = b->data;
    queries.assign(q->data.begin(), q->data.begin() + std::min<size_t>(q->rows(), 200) * dim);
    std::printf("dataset: sift5k\n");
  } else {
    std::printf("dataset: generated clusters (sift5k not found)\n");
    base = clustered_vectors(4900, dim, 21);
    queries = clustered_vectors(200, dim, 22);
  }
  CollectionConfig f32{.name = "f32", .dim = dim, .index_kind = IndexKind::kIvfFlat};
  f32.segment_seal_points = 700;
  CollectionConfig sq8 = f32;
  sq8.name = "sq8";
  sq8.quantization = Quantization::kSq8;
  for (const CollectionConfig& config : {f32, sq8}) {
    load(config, base);
    const SegmentStats s = settled(config.name);
    EXPECT_EQ(s.growing_points, 0u);
    EXPECT_EQ(s.sealed_points, base.size() / dim);
  }
  const double r32 = recall_at_default_nprobe(*node_, "f32", base, queries, dim);
  const double r8 = recall_at_default_nprobe(*node_, "sq8", base, queries, dim);
  std::printf("ivf_flat recall@10 at default nprobe: float32 %.4f, sq8 %.4f\n", r32, r8);
  EXPECT_GE(r8, r32 - 0.01);
  EXPECT_GE(r8, 0.95);
}

// 30% of 30000 points is above the planner's exact-scan thresholds for IVF: the filter is
// applied while the IVF lists are scanned (10% is scanned exactly, see filtered_scan.h).
TEST_F(SegmentRestartTest, IvfListScanRecallAtThirtyPercent) {
  const uint32_t dim = 8;
  const auto base = random_vectors(30000, dim, 7);
  const auto queries = random_vectors(50, dim, 8);
  ASSERT_FALSE(prefer_exact_scan_ivf(9000, 30000));
  ASSERT_TRUE(prefer_exact_scan_ivf(3000, 30000));
  load("ivf", IndexKind::kIvfFlat, dim, base, 10000);
  EXPECT_EQ(settled("ivf").growing_points, 0u);
  const double recall = filtered_recall(*node_, "ivf", base, queries, dim, 30, 0);
  std::printf("ivf_flat list scan: recall@10 at 30%% selectivity = %.4f\n", recall);
  EXPECT_GE(recall, 0.95);
  // An explicit nprobe is taken as given, even under a filter.
  EXPECT_LT(filtered_recall(*node_, "ivf", base, queries, dim, 30, 1), recall);
}

}  // namespace
}  // namespace meridian::node
