// HnswIndex on real datasets (sift5k L2, glove6b-100 and wordnet-use-512 cosine subsets) with
// default parameters: recall@10 >= 0.95 at ef = 128 under the datasets' tie rule; with SQ8
// storage, recall within 0.01 of the unquantised index at the same ef. Skips without the
// datasets.
#include <chrono>
#include <cmath>
#include <iostream>
#include <string>

#include "index/flat_index.h"
#include "index/hnsw_index.h"
#include "tests/index/fvecs_reader.h"
#include "tests/index/true_distance.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

using testing::read_fvecs;
using testing::true_distance;

constexpr size_t kK = 10;

// Indexes the first `max_base` base vectors (all when 0) and searches the first `max_queries`
// queries at ef 64 and 128. The truth is the exact top-10 of FlatIndex over the same base; a
// returned id counts when its true distance is <= d_k * (1 + 1e-6) + 1e-6 (tie rule of
// /work/shared/datasets/README.md), d_k being the true distance of the exact 10th.
void check_recall(const std::string& name, Metric metric, size_t max_base, size_t max_queries) {
  const auto dir = ::meridian::testing::dataset_dir(name);
  if (!dir) GTEST_SKIP() << "dataset " << name << " not present";
  auto base = read_fvecs(*dir / (name + "_base.fvecs"), max_base);
  auto queries = read_fvecs(*dir / (name + "_query.fvecs"), max_queries);
  MERIDIAN_ASSERT_OK(base);
  MERIDIAN_ASSERT_OK(queries);
  ASSERT_EQ(base->dim, queries->dim);
  const size_t dim = base->dim;

  FlatIndex flat(static_cast<uint32_t>(dim), metric);
  std::vector<uint64_t> labels(base->rows);
  for (size_t i = 0; i < base->rows; ++i) {
    labels[i] = i;
    MERIDIAN_ASSERT_OK(flat.add(i, std::span(base->row(i), dim)));
  }
  auto exact = flat.search(queries->values, kK);
  MERIDIAN_ASSERT_OK(exact);
  const auto t0 = std::chrono::steady_clock::now();
  HnswIndex hnsw(static_cast<uint32_t>(dim), metric);
  MERIDIAN_ASSERT_OK(hnsw.add_batch(labels, base->values, 1));
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t ef : {64, 128}) {
    auto approx = hnsw.search(queries->values, kK, ef);
    MERIDIAN_ASSERT_OK(approx);
    size_t hits = 0;
    for (size_t qi = 0; qi < queries->rows; ++qi) {
      const float* q = queries->row(qi);
      const double d_k = true_distance(metric, q, base->row((*exact)[qi].back().label), dim);
      for (const Neighbor& n : (*approx)[qi]) {
        hits += true_distance(metric, q, base->row(n.label), dim) <= d_k * (1 + 1e-6) + 1e-6;
      }
    }
    const double recall = static_cast<double>(hits) / static_cast<double>(queries->rows * kK);
    std::cout << name << " (" << base->rows << " x " << dim << ", " << queries->rows
              << " queries, build " << build_s << " s): ef=" << ef << " recall@10 = " << recall
              << "\n";
    if (ef == 128) {
      EXPECT_GE(recall, 0.95) << name;
    }
  }
}

TEST(HnswIndexRecallTest, Sift5kL2) { check_recall("sift5k", Metric::kL2, 0, 0); }

TEST(HnswIndexRecallTest, Glove100CosineFirst20k) {
  check_recall("glove6b-100-angular", Metric::kCosine, 20000, 200);
}

TEST(HnswIndexRecallTest, WordnetUse512CosineFirst10k) {
  check_recall("wordnet-use-512", Metric::kCosine, 10000, 200);
}

// Recall@10 of `index` at `ef` against the exact top-10 of `flat`, under the tie rule.
double recall_at(const HnswIndex& index, const FlatIndex& flat,
                 const testing::VecsMatrix<float>& base, const testing::VecsMatrix<float>& queries,
                 Metric metric, size_t ef) {
  auto exact = flat.search(queries.values, kK);
  auto approx = index.search(queries.values, kK, ef);
  EXPECT_TRUE(exact.ok() && approx.ok());
  size_t hits = 0;
  for (size_t qi = 0; qi < queries.rows; ++qi) {
    const float* q = queries.row(qi);
    const double d_k = true_distance(metric, q, base.row((*exact)[qi].back().label), base.dim);
    for (const Neighbor& n : (*approx)[qi]) {
      hits += true_distance(metric, q, base.row(n.label), base.dim) <= d_k * (1 + 1e-6) + 1e-6;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(queries.rows * kK);
}

// SQ8 storage against float32 storage at the same parameters and ef.
void check_sq8_recall(const std::string& name, Metric metric, size_t max_base, size_t max_queries) {
  const auto dir = ::meridian::testing::dataset_dir(name);
  if (!dir) GTEST_SKIP() << "dataset " << name << " not present";
  auto base = read_fvecs(*dir / (name + "_base.fvecs"), max_base);
  auto queries = read_fvecs(*dir / (name + "_query.fvecs"), max_queries);
  MERIDIAN_ASSERT_OK(base);
  MERIDIAN_ASSERT_OK(queries);
  const auto dim = static_cast<uint32_t>(base->dim);
  FlatIndex flat(dim, metric);
  std::vector<uint64_t> labels(base->rows);
  for (size_t i = 0; i < base->rows; ++i) {
    labels[i] = i;
    MERIDIAN_ASSERT_OK(flat.add(i, std::span(base->row(i), dim)));
  }
  HnswIndex plain(dim, metric);
  HnswIndex sq8(dim, metric, HnswParams{.quantization = Quantization::kSq8});
  // One thread each: the SQ8 graph is built from the float32 vectors, so both graphs are equal
  // and only the quantised traversal differs.
  MERIDIAN_ASSERT_OK(plain.add_batch(labels, base->values, 1));
  MERIDIAN_ASSERT_OK(sq8.add_batch(labels, base->values, 1));
  for (size_t ef : {32, 64, 128}) {
    const double a = recall_at(plain, flat, *base, *queries, metric, ef);
    const double b = recall_at(sq8, flat, *base, *queries, metric, ef);
    std::cout << name << " ef=" << ef << ": recall@10 float32 " << a << ", sq8 " << b
              << " (graph+codes " << (sq8.memory_bytes() - sq8.rerank_store_bytes())
              << " B, re-rank store " << sq8.rerank_store_bytes() << " B; float32 index "
              << plain.memory_bytes() << " B)\n";
    EXPECT_GE(b, a - 0.01) << name << " ef " << ef;
  }
}

TEST(HnswIndexRecallTest, Sq8Sift5kL2) { check_sq8_recall("sift5k", Metric::kL2, 0, 0); }

TEST(HnswIndexRecallTest, Sq8Glove100CosineFirst10k) {
  check_sq8_recall("glove6b-100-angular", Metric::kCosine, 10000, 200);
}

}  // namespace
}  // namespace meridian::index
