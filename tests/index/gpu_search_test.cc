// Tests of gpu_search.h. On a GPU: GpuFlatSearcher against FlatIndex and GpuIvfFlatSearcher
// against IvfFlatIndex (random data, every metric, dimensions that are not multiples of 32, k
// above the number of vectors, k = 1024, ties, empty indexes, chunk boundaries of rows and of
// queries). Everywhere: input rejected before any upload, and the "no GPU" answers of a machine
// (or a build) without one. GPU tests skip with a reason where gpu_available() is false.
#include "index/gpu_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "index/flat_index.h"
#include "index/ivf_flat_index.h"

namespace meridian::index {
namespace {

#define SKIP_WITHOUT_GPU()                                                 \
  do {                                                                     \
    if (!gpu_available()) GTEST_SKIP() << "no GPU: " << gpu_description(); \
  } while (0)

std::vector<float> random_vectors(size_t n, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * dim);
  for (float& x : out) x = g(rng);
  return out;
}

// Labels that are neither dense nor in row order, so rank bookkeeping is exercised.
std::vector<uint64_t> scattered_labels(size_t n) {
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = (n - i) * 7919 + 3;
  return labels;
}

FlatIndex cpu_flat(uint32_t dim, Metric metric, std::span<const uint64_t> labels,
                   std::span<const float> vectors) {
  FlatIndex flat(dim, metric);
  for (size_t i = 0; i < labels.size(); ++i) {
    EXPECT_TRUE(flat.add(labels[i], vectors.subspan(i * dim, dim)).ok());
  }
  return flat;
}

// The GPU's lists must hold the CPU's scores position by position (float rounding aside) and
// almost all of its labels (near ties may swap).
void expect_close(const std::vector<std::vector<Neighbor>>& cpu,
                  const std::vector<std::vector<Neighbor>>& gpu, double min_recall = 0.99) {
  ASSERT_EQ(cpu.size(), gpu.size());
  size_t found = 0, total = 0;
  for (size_t q = 0; q < cpu.size(); ++q) {
    ASSERT_EQ(cpu[q].size(), gpu[q].size()) << "query " << q;
    std::set<uint64_t> want;
    for (const Neighbor& n : cpu[q]) want.insert(n.label);
    for (size_t i = 0; i < cpu[q].size(); ++i) {
      const float tol = 1e-3f + 1e-4f * std::fabs(cpu[q][i].score);
      EXPECT_NEAR(gpu[q][i].score, cpu[q][i].score, tol) << "query " << q << " rank " << i;
      if (i > 0) {
        EXPECT_FALSE(gpu[q][i].score == gpu[q][i - 1].score &&
                     gpu[q][i].label < gpu[q][i - 1].label)
            << "equal scores out of label order, query " << q;
      }
      found += want.count(gpu[q][i].label);
    }
    total += cpu[q].size();
  }
  EXPECT_GE(static_cast<double>(found), min_recall * static_cast<double>(total));
}

void compare_flat(uint32_t dim, Metric metric, size_t n, size_t nq, size_t k,
                  GpuSearchOptions options = {}) {
  auto vectors = random_vectors(n, dim, 1);
  auto labels = scattered_labels(n);
  auto queries = random_vectors(nq, dim, 2);
  FlatIndex flat = cpu_flat(dim, metric, labels, vectors);
  auto gpu = GpuFlatSearcher::create(dim, metric, labels, vectors, options);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_EQ((*gpu)->size(), n);
  auto want = flat.search(queries, k);
  auto got = (*gpu)->search(queries, k);
  ASSERT_TRUE(want.ok());
  ASSERT_TRUE(got.ok()) << got.status();
  expect_close(*want, *got);
}

// --- Everywhere: availability and input checks. -------------------------------------------

TEST(GpuSearchTest, DescriptionSaysWhyThereIsNoGpu) {
  const std::string description = gpu_description();
  EXPECT_FALSE(description.empty());
  if (!gpu_built()) {
    EXPECT_FALSE(gpu_available());
    EXPECT_EQ(description, "not built with CUDA");
  } else if (!gpu_available()) {
    EXPECT_NE(description.find("no CUDA device found"), std::string::npos) << description;
  }
  // Cached: asking again gives the same answer.
  EXPECT_EQ(gpu_available(), gpu_available());
  EXPECT_EQ(gpu_description(), description);
}

TEST(GpuSearchTest, WithoutGpuCreateIsUnavailable) {
  if (gpu_available()) GTEST_SKIP() << "a GPU is present: " << gpu_description();
  std::vector<uint64_t> labels = {1, 2};
  std::vector<float> vectors = {1, 0, 0, 1};
  auto flat = GpuFlatSearcher::create(2, Metric::kL2, labels, vectors);
  EXPECT_EQ(flat.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(flat.status().message().find(gpu_description()), std::string::npos) << flat.status();

  IvfFlatIndex ivf(2, Metric::kL2, IvfFlatParams{.nlist = 1});
  ASSERT_TRUE(ivf.add_batch(labels, vectors).ok());
  EXPECT_EQ(GpuIvfFlatSearcher::create(ivf).status().code(), absl::StatusCode::kUnavailable);
}

TEST(GpuSearchTest, NanAndInfinityAreRejectedBeforeUpload) {
  std::vector<uint64_t> labels = {1, 2};
  std::vector<float> nan = {1, 0, std::numeric_limits<float>::quiet_NaN(), 1};
  std::vector<float> inf = {1, std::numeric_limits<float>::infinity(), 0, 1};
  // InvalidArgument, not Unavailable: the check comes first, GPU or not.
  EXPECT_EQ(GpuFlatSearcher::create(2, Metric::kL2, labels, nan).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GpuFlatSearcher::create(2, Metric::kCosine, labels, inf).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GpuSearchTest, BadShapesAndDuplicateLabelsAreRejected) {
  std::vector<uint64_t> labels = {5, 5};
  std::vector<float> vectors = {1, 0, 0, 1};
  auto dup = GpuFlatSearcher::create(2, Metric::kL2, labels, vectors);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("label 5"), std::string::npos) << dup.status();
  std::vector<uint64_t> two = {1, 2};
  EXPECT_EQ(GpuFlatSearcher::create(3, Metric::kL2, two, vectors).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GpuFlatSearcher::create(0, Metric::kL2, {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GpuSearchTest, IvfSearcherTakesOnlyTrainedFloatIndexes) {
  IvfFlatIndex untrained(4, Metric::kL2, IvfFlatParams{.nlist = 2});
  EXPECT_EQ(GpuIvfFlatSearcher::create(untrained).status().code(),
            absl::StatusCode::kInvalidArgument);
  IvfFlatIndex sq8(4, Metric::kL2, IvfFlatParams{.nlist = 2, .quantization = Quantization::kSq8});
  auto vectors = random_vectors(16, 4, 3);
  std::vector<uint64_t> labels(16);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = i;
  ASSERT_TRUE(sq8.add_batch(labels, vectors).ok());
  EXPECT_EQ(GpuIvfFlatSearcher::create(sq8).status().code(), absl::StatusCode::kInvalidArgument);
}

// --- On a GPU: exact search against FlatIndex. -------------------------------------------------

TEST(GpuFlatSearcherTest, MatchesFlatIndexUnderEveryMetric) {
  SKIP_WITHOUT_GPU();
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    SCOPED_TRACE(metric_name(metric));
    compare_flat(100, metric, 3000, 64, 10);  // 100: not a multiple of 32
  }
}

TEST(GpuFlatSearcherTest, SmallAndOddDimensions) {
  SKIP_WITHOUT_GPU();
  for (uint32_t dim : {1u, 3u, 33u, 257u}) {
    SCOPED_TRACE(dim);
    compare_flat(dim, Metric::kL2, 500, 20, 5);
  }
}

TEST(GpuFlatSearcherTest, RowBlocksAndQueryChunksGiveTheSameResults) {
  SKIP_WITHOUT_GPU();
  // 7-row blocks (fewer rows than k: blocks pad with empty keys), a scratch budget of a few
  // queries, and a last block and chunk that are partial.
  GpuSearchOptions tiny{.scratch_bytes = 16 << 10, .block_rows = 7};
  compare_flat(20, Metric::kL2, 1000, 37, 16, tiny);
  compare_flat(20, Metric::kCosine, 1000, 37, 16, tiny);
  GpuSearchOptions blocks{.block_rows = 256};
  compare_flat(48, Metric::kInnerProduct, 2049, 100, 100, blocks);
}

TEST(GpuFlatSearcherTest, KAboveSizeReturnsEveryVectorSorted) {
  SKIP_WITHOUT_GPU();
  compare_flat(8, Metric::kL2, 5, 3, 20);
  compare_flat(8, Metric::kL2, 5, 3, 20, GpuSearchOptions{.block_rows = 2});
}

TEST(GpuFlatSearcherTest, KOf1024) {
  SKIP_WITHOUT_GPU();
  compare_flat(64, Metric::kL2, 5000, 8, kGpuMaxK);
  compare_flat(64, Metric::kInnerProduct, 5000, 8, kGpuMaxK, GpuSearchOptions{.block_rows = 1500});
}

TEST(GpuFlatSearcherTest, EqualScoresComeInLabelOrder) {
  SKIP_WITHOUT_GPU();
  // Every stored vector is the same: all scores tie, so the k smallest labels win, in order.
  const size_t n = 300;
  std::vector<float> vectors(n * 4, 0.5f);
  auto labels = scattered_labels(n);
  auto gpu =
      GpuFlatSearcher::create(4, Metric::kL2, labels, vectors, GpuSearchOptions{.block_rows = 64});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  std::vector<float> query = {0.5f, 0.5f, 0.5f, 0.0f};
  auto got = (*gpu)->search(query, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<uint64_t> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ((*got)[0].size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ((*got)[0][i].label, sorted[i]);
    EXPECT_FLOAT_EQ((*got)[0][i].score, 0.25f);
  }
}

TEST(GpuFlatSearcherTest, ZeroQueryUnderCosineScoresZero) {
  SKIP_WITHOUT_GPU();
  compare_flat(16, Metric::kCosine, 100, 1, 3);  // warms up; then the zero query
  auto vectors = random_vectors(100, 16, 4);
  auto labels = scattered_labels(100);
  auto gpu = GpuFlatSearcher::create(16, Metric::kCosine, labels, vectors);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  std::vector<float> zero(16, 0.0f);
  auto got = (*gpu)->search(zero, 3);
  ASSERT_TRUE(got.ok()) << got.status();
  for (const Neighbor& n : (*got)[0]) EXPECT_EQ(n.score, 0.0f);
}

TEST(GpuFlatSearcherTest, EmptyIndexAndEmptyBatches) {
  SKIP_WITHOUT_GPU();
  auto gpu = GpuFlatSearcher::create(8, Metric::kL2, {}, {});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  auto got = (*gpu)->search(random_vectors(3, 8, 5), 4);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  for (const auto& list : *got) EXPECT_TRUE(list.empty());
  auto none = (*gpu)->search({}, 4);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(GpuFlatSearcherTest, BadQueriesAndKAreRejected) {
  SKIP_WITHOUT_GPU();
  auto vectors = random_vectors(10, 4, 6);
  auto gpu = GpuFlatSearcher::create(4, Metric::kL2, scattered_labels(10), vectors);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  std::vector<float> nan = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4};
  EXPECT_EQ((*gpu)->search(nan, 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*gpu)->search(std::vector<float>(5, 1.0f), 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*gpu)->search(std::vector<float>(4, 1.0f), kGpuMaxK + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto k0 = (*gpu)->search(std::vector<float>(4, 1.0f), 0);
  ASSERT_TRUE(k0.ok());
  EXPECT_TRUE((*k0)[0].empty());
}

// --- On a GPU: IVF-Flat against IvfFlatIndex. ---------------------------------------------

IvfFlatIndex trained_ivf(uint32_t dim, Metric metric, size_t n, uint32_t nlist) {
  IvfFlatIndex ivf(dim, metric, IvfFlatParams{.nlist = nlist, .nprobe = 4});
  auto vectors = random_vectors(n, dim, 7);
  auto labels = scattered_labels(n);
  EXPECT_TRUE(ivf.add_batch(labels, vectors).ok());
  return ivf;
}

TEST(GpuIvfFlatSearcherTest, MatchesIvfFlatIndexUnderEveryMetric) {
  SKIP_WITHOUT_GPU();
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    SCOPED_TRACE(metric_name(metric));
    IvfFlatIndex ivf = trained_ivf(50, metric, 4000, 32);
    auto gpu = GpuIvfFlatSearcher::create(ivf);
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    EXPECT_EQ((*gpu)->size(), ivf.size());
    EXPECT_EQ((*gpu)->nlist(), 32u);
    auto queries = random_vectors(50, 50, 8);
    for (size_t nprobe : {size_t{1}, size_t{4}, size_t{0}}) {
      auto want = ivf.search(queries, 10, nprobe);
      auto got = (*gpu)->search(queries, 10, nprobe);
      ASSERT_TRUE(want.ok());
      ASSERT_TRUE(got.ok()) << got.status();
      // A near tie between two centroids can change a probed list: allow a little more slack.
      expect_close(*want, *got, 0.97);
    }
  }
}

TEST(GpuIvfFlatSearcherTest, EveryListIsAnExactSearch) {
  SKIP_WITHOUT_GPU();
  const uint32_t dim = 24;
  IvfFlatIndex ivf = trained_ivf(dim, Metric::kL2, 2000, 16);
  auto vectors = random_vectors(2000, dim, 7);
  FlatIndex flat = cpu_flat(dim, Metric::kL2, scattered_labels(2000), vectors);
  auto queries = random_vectors(30, dim, 9);
  // A small scratch budget: queries go a few at a time through the candidate buffer.
  auto gpu = GpuIvfFlatSearcher::create(ivf, GpuSearchOptions{.scratch_bytes = 64 << 10});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  auto want = flat.search(queries, 25);
  auto got = (*gpu)->search(queries, 25, 1000);  // above nlist: every list
  ASSERT_TRUE(want.ok());
  ASSERT_TRUE(got.ok()) << got.status();
  expect_close(*want, *got);
}

TEST(GpuIvfFlatSearcherTest, KAboveProbedVectorsAndLimits) {
  SKIP_WITHOUT_GPU();
  IvfFlatIndex ivf = trained_ivf(8, Metric::kL2, 200, 20);
  auto gpu = GpuIvfFlatSearcher::create(ivf);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  auto queries = random_vectors(10, 8, 10);
  // One list of ~10 vectors cannot fill k = 500: each query gets what its list holds.
  auto want = ivf.search(queries, 500, 1);
  auto got = (*gpu)->search(queries, 500, 1);
  ASSERT_TRUE(want.ok());
  ASSERT_TRUE(got.ok()) << got.status();
  expect_close(*want, *got, 0.9);
  EXPECT_EQ((*gpu)->search(queries, 0, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*gpu)->search(queries, kGpuMaxK + 1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::index
