// FlatIndex on real datasets (sift5k L2, wordnet-use-512 and glove6b-100 cosine): recall@10 must be
// exactly 1.0 under the tie tolerance of /work/shared/datasets/README.md. Skips without datasets.
#include <cmath>
#include <string>

#include "index/flat_index.h"
#include "tests/index/fvecs_reader.h"
#include "tests/index/true_distance.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

using testing::read_fvecs;
using testing::read_ivecs;
using testing::true_distance;

constexpr size_t kK = 10;

// Loads `name`, indexes the base under `metric`, searches the first `max_queries` queries with
// both the scan path (one query per call) and the GEMM path (one batch), and checks that every
// returned id is within the tie tolerance of the k-th true distance.
void check_recall(const std::string& name, Metric metric, size_t max_queries) {
  const auto dir = ::meridian::testing::dataset_dir(name);
  if (!dir) GTEST_SKIP() << "dataset " << name << " not present";
  auto base = read_fvecs(*dir / (name + "_base.fvecs"));
  auto queries = read_fvecs(*dir / (name + "_query.fvecs"), max_queries);
  auto gt_dist = read_fvecs(*dir / (name + "_groundtruth_dist.fvecs"), max_queries);
  MERIDIAN_ASSERT_OK(base);
  MERIDIAN_ASSERT_OK(queries);
  MERIDIAN_ASSERT_OK(gt_dist);
  ASSERT_EQ(base->dim, queries->dim);
  ASSERT_EQ(gt_dist->rows, queries->rows);
  const size_t dim = base->dim;

  FlatIndex index(static_cast<uint32_t>(dim), metric);
  for (size_t i = 0; i < base->rows; ++i) {
    ASSERT_TRUE(index.add(i, std::span(base->row(i), dim)).ok());
  }
  auto batch = index.search(queries->values, kK);
  MERIDIAN_ASSERT_OK(batch);

  size_t hits = 0, total = 0;
  for (size_t qi = 0; qi < queries->rows; ++qi) {
    const float* q = queries->row(qi);
    const double d_k = gt_dist->row(qi)[kK - 1];
    const double limit = d_k * (1 + 1e-6) + 1e-6;
    auto single = index.search(std::span(q, dim), kK);
    MERIDIAN_ASSERT_OK(single);
    for (const auto* result : {&(*batch)[qi], &(*single)[0]}) {
      ASSERT_EQ(result->size(), kK);
      for (const Neighbor& n : *result) {
        const double d = true_distance(metric, q, base->row(n.label), dim);
        ++total;
        if (d <= limit) {
          ++hits;
        } else {
          ADD_FAILURE() << name << " query " << qi << ": id " << n.label << " at distance " << d
                        << " > d_k " << d_k;
        }
      }
    }
  }
  EXPECT_EQ(hits, total);
  std::cout << name << ": recall@10 = " << static_cast<double>(hits) / total << " over "
            << queries->rows << " queries (scan and GEMM paths)\n";
}

TEST(FlatIndexRecallTest, Sift5kL2) { check_recall("sift5k", Metric::kL2, 0); }

TEST(FlatIndexRecallTest, WordnetUse512Cosine) {
  check_recall("wordnet-use-512", Metric::kCosine, 1000);
}

TEST(FlatIndexRecallTest, Glove100Cosine) {
  check_recall("glove6b-100-angular", Metric::kCosine, 1000);
}

}  // namespace
}  // namespace meridian::index
