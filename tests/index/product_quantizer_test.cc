// ProductQuantizer: sub-space layout (even and uneven), training on clustered data (codes
// recover the clusters), tables against decode, few training points, and stored-codebook checks.
#include "index/product_quantizer.h"

#include <cmath>
#include <random>

#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

// n points around 16 centres in `dim` dimensions, plus small noise.
std::vector<float> clustered(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::mt19937_64 centre_rng(5);
  std::vector<float> centres(16 * dim);
  for (float& c : centres) c = 10.0f * g(centre_rng);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + (rng() % 16) * dim;
    for (size_t d = 0; d < dim; ++d) out[i * dim + d] = c[d] + 0.01f * g(rng);
  }
  return out;
}

double sq_distance(const float* a, const float* b, size_t dim) {
  double s = 0;
  for (size_t i = 0; i < dim; ++i) s += (static_cast<double>(a[i]) - b[i]) * (a[i] - b[i]);
  return s;
}

TEST(ProductQuantizerTest, UnevenSubspacesCoverEveryDimension) {
  const std::vector<float> data = clustered(300, 10, 1);
  auto pq = ProductQuantizer::train(data, 10, 4, 5, 7);
  MERIDIAN_ASSERT_OK(pq);
  EXPECT_EQ(pq->m(), 4u);
  const uint32_t expected[] = {0, 2, 5, 7, 10};  // j * 10 / 4.
  for (uint32_t j = 0; j <= 4; ++j) EXPECT_EQ(pq->offset(j), expected[j]);
  EXPECT_EQ(pq->centroids().size(), 256u * 10);
}

TEST(ProductQuantizerTest, ClusteredDataIsReconstructedClosely) {
  const size_t dim = 16;
  const std::vector<float> data = clustered(2000, dim, 2);
  auto pq = ProductQuantizer::train(data, dim, 4, 10, 11);
  MERIDIAN_ASSERT_OK(pq);
  std::vector<uint8_t> code(4);
  std::vector<float> back(dim), tables(4 * 256);
  double worst = 0;
  for (size_t i = 0; i < 200; ++i) {
    const float* x = data.data() + i * dim;
    pq->encode(x, code.data());
    pq->decode(code.data(), back.data());
    worst = std::max(worst, sq_distance(x, back.data(), dim));
    // ADC: the table sum is the distance from the query to the decoded vector.
    const float* q = data.data() + (i + 1000) * dim;
    pq->l2_tables(q, tables.data());
    double adc = 0, ip = 0;
    for (size_t j = 0; j < 4; ++j) adc += tables[j * 256 + code[j]];
    EXPECT_NEAR(adc, sq_distance(q, back.data(), dim), 1e-3 * (1 + adc));
    pq->dot_tables(q, tables.data());
    for (size_t j = 0; j < 4; ++j) ip += tables[j * 256 + code[j]];
    double ref = 0;
    for (size_t d = 0; d < dim; ++d) ref += static_cast<double>(q[d]) * back[d];
    EXPECT_NEAR(ip, ref, 1e-3 * (1 + std::fabs(ref)));
  }
  // 16 clusters per sub-space fit in 256 centroids: only the 0.01 noise remains.
  EXPECT_LT(worst, 0.02);
}

TEST(ProductQuantizerTest, FewerPointsThanCentroids) {
  const std::vector<float> data = clustered(20, 8, 3);
  auto pq = ProductQuantizer::train(data, 8, 2, 5, 1);
  MERIDIAN_ASSERT_OK(pq);
  std::vector<uint8_t> code(2);
  std::vector<float> back(8);
  for (size_t i = 0; i < 20; ++i) {
    pq->encode(data.data() + i * 8, code.data());
    EXPECT_LT(code[0], 20);  // Padding ids repeat centroid 0 and are never chosen.
    EXPECT_LT(code[1], 20);
    pq->decode(code.data(), back.data());
    EXPECT_LT(sq_distance(data.data() + i * 8, back.data(), 8), 1e-6);
  }
}

TEST(ProductQuantizerTest, DeterministicForASeed) {
  const std::vector<float> data = clustered(500, 12, 4);
  auto a = ProductQuantizer::train(data, 12, 3, 8, 99);
  auto b = ProductQuantizer::train(data, 12, 3, 8, 99);
  MERIDIAN_ASSERT_OK(a);
  MERIDIAN_ASSERT_OK(b);
  EXPECT_TRUE(std::equal(a->centroids().begin(), a->centroids().end(), b->centroids().begin()));
}

TEST(ProductQuantizerTest, BadInput) {
  using absl::StatusCode;
  const std::vector<float> data = clustered(10, 4, 5);
  MERIDIAN_EXPECT_CODE(ProductQuantizer::train(data, 4, 0, 5, 1), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ProductQuantizer::train(data, 4, 5, 5, 1), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ProductQuantizer::train(data, 3, 1, 5, 1), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ProductQuantizer::train({}, 4, 1, 5, 1), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ProductQuantizer::train(data, 4, 1, 0, 1), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ProductQuantizer::from_centroids(4, 2, std::vector<float>(10)),
                       StatusCode::kInvalidArgument);
  std::vector<float> bad(256 * 4, 0.0f);
  bad[17] = INFINITY;
  MERIDIAN_EXPECT_CODE(ProductQuantizer::from_centroids(4, 2, bad), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_OK(ProductQuantizer::from_centroids(4, 2, std::vector<float>(256 * 4)));
}

}  // namespace
}  // namespace meridian::index
