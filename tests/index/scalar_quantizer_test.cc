// ScalarQuantizer: trained ranges, the encode/decode error bound, saturation outside the range,
// constant dimensions, normalised training, and validation of stored ranges.
#include "index/scalar_quantizer.h"

#include <cfloat>
#include <cmath>
#include <random>

#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

std::vector<float> gaussian(size_t n, uint64_t seed, float sigma = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

TEST(ScalarQuantizerTest, RangesAreTheTrainingMinAndMax) {
  const std::vector<float> rows = {1, -2, 5,  //
                                   3, -2, -1, 2, -2, 4};
  auto sq = ScalarQuantizer::train(rows, 3);
  MERIDIAN_ASSERT_OK(sq);
  EXPECT_EQ(sq->dim(), 3u);
  EXPECT_EQ(sq->min()[0], 1.0f);
  EXPECT_EQ(sq->min()[1], -2.0f);
  EXPECT_EQ(sq->min()[2], -1.0f);
  EXPECT_FLOAT_EQ(sq->scale()[0], 2.0f / 255);
  EXPECT_EQ(sq->scale()[1], 0.0f);  // Constant dimension.
  EXPECT_FLOAT_EQ(sq->scale()[2], 6.0f / 255);
  // Extremes map to 0 and 255 and decode exactly (up to float rounding of min + 255 * scale).
  uint8_t code[3];
  float back[3];
  sq->encode(rows.data(), code);  // (1, -2, 5)
  EXPECT_EQ(code[0], 0);
  EXPECT_EQ(code[1], 0);
  EXPECT_EQ(code[2], 255);
  sq->decode(code, back);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -2.0f);
  EXPECT_NEAR(back[2], 5.0f, 1e-6);
}

TEST(ScalarQuantizerTest, ErrorIsAtMostHalfAStep) {
  for (size_t dim : {1u, 7u, 64u, 100u}) {
    const std::vector<float> train = gaussian(500 * dim, dim, 3.0f);
    auto sq = ScalarQuantizer::train(train, static_cast<uint32_t>(dim));
    MERIDIAN_ASSERT_OK(sq);
    std::vector<uint8_t> code(dim);
    std::vector<float> back(dim);
    for (size_t r = 0; r < 500; ++r) {
      const float* x = train.data() + r * dim;
      sq->encode(x, code.data());
      sq->decode(code.data(), back.data());
      for (size_t i = 0; i < dim; ++i) {
        ASSERT_LE(std::fabs(back[i] - x[i]), 0.5f * sq->scale()[i] * (1 + 1e-5f) + 1e-6f)
            << "dim " << dim << " row " << r << " i " << i;
      }
    }
  }
}

TEST(ScalarQuantizerTest, OutOfRangeValuesSaturate) {
  const std::vector<float> train = {0, 0, 1, 1};
  auto sq = ScalarQuantizer::train(train, 2);
  MERIDIAN_ASSERT_OK(sq);
  const float x[2] = {-5.0f, 1e30f};
  uint8_t code[2];
  sq->encode(x, code);
  EXPECT_EQ(code[0], 0);
  EXPECT_EQ(code[1], 255);
}

TEST(ScalarQuantizerTest, DenormalAndHugeRanges) {
  // A range of a few denormals has a denormal (or zero) scale: codes stay in [0, 255], decode
  // stays within the range.
  const std::vector<float> tiny = {0.0f,  FLT_TRUE_MIN * 3, -FLT_TRUE_MIN,
                                   1e18f, FLT_TRUE_MIN,     -1e18f};
  auto sq = ScalarQuantizer::train(tiny, 2);
  MERIDIAN_ASSERT_OK(sq);
  for (size_t r = 0; r < 3; ++r) {
    uint8_t code[2];
    float back[2];
    sq->encode(tiny.data() + 2 * r, code);
    sq->decode(code, back);
    EXPECT_TRUE(std::isfinite(back[0]) && std::isfinite(back[1]));
    EXPECT_GE(back[0], -FLT_TRUE_MIN);
    EXPECT_LE(back[0], FLT_TRUE_MIN * 3);
    EXPECT_NEAR(back[1], tiny[2 * r + 1], 0.51 * 2e18 / 255);
  }
}

TEST(ScalarQuantizerTest, NormalizedTrainingUsesUnitRows) {
  const std::vector<float> rows = {3, 4, -6, 8};  // Unit: (0.6, 0.8), (-0.6, 0.8).
  auto sq = ScalarQuantizer::train(rows, 2, /*normalize=*/true);
  MERIDIAN_ASSERT_OK(sq);
  EXPECT_FLOAT_EQ(sq->min()[0], -0.6f);
  EXPECT_FLOAT_EQ(sq->min()[1], 0.8f);
  EXPECT_EQ(sq->scale()[1], 0.0f);
}

TEST(ScalarQuantizerTest, PrepareDotReturnsBias) {
  auto sq = ScalarQuantizer::from_ranges({1.0f, -2.0f}, {0.5f, 0.0f});
  MERIDIAN_ASSERT_OK(sq);
  const float q[2] = {3.0f, 4.0f};
  float qs[2], qm[2];
  EXPECT_EQ(sq->prepare_dot(q, qs), 3.0f - 8.0f);
  EXPECT_EQ(qs[0], 1.5f);
  EXPECT_EQ(qs[1], 0.0f);
  sq->prepare_l2(q, qm);
  EXPECT_EQ(qm[0], 2.0f);
  EXPECT_EQ(qm[1], 6.0f);
}

TEST(ScalarQuantizerTest, BadInput) {
  using absl::StatusCode;
  const std::vector<float> three = {1, 2, 3};
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::train(three, 2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::train({}, 2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::train(three, 0), StatusCode::kInvalidArgument);
  const std::vector<float> nan = {1, NAN};
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::train(nan, 2), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::from_ranges({}, {}), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::from_ranges({1}, {1, 2}), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::from_ranges({1}, {-1}), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::from_ranges({NAN}, {1}), StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(ScalarQuantizer::from_ranges({0}, {FLT_MAX}), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ScalarQuantizer().is_trained());
  EXPECT_EQ(quantization_name(Quantization::kSq8), "sq8");
}

}  // namespace
}  // namespace meridian::index
