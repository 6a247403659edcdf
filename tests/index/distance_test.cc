// Every available kernel path against a plain double-precision loop, on random and adversarial
// inputs, plus the normalisation helpers.
#include "index/distance.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>

#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

struct Reference {
  double value;
  double magnitude;  // Sum of |terms|: the scale that float rounding error is relative to.
};

Reference l2_reference(const std::vector<float>& a, const std::vector<float>& b) {
  Reference r{0, 0};
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    r.value += d * d;
  }
  r.magnitude = r.value;
  return r;
}

Reference ip_reference(const std::vector<float>& a, const std::vector<float>& b) {
  Reference r{0, 0};
  for (size_t i = 0; i < a.size(); ++i) {
    const double t = static_cast<double>(a[i]) * b[i];
    r.value += t;
    r.magnitude += std::fabs(t);
  }
  return r;
}

// Float accumulation of n terms errs by at most about n * eps * sum|terms|; allow twice that,
// plus an absolute slack for products that underflow in float (denormal inputs).
double tolerance(size_t dim, const Reference& r) {
  return 2.0 * static_cast<double>(dim + 2) * FLT_EPSILON * r.magnitude + 1e-30;
}

void expect_all_paths_match(const std::vector<float>& a, const std::vector<float>& b) {
  const Reference l2 = l2_reference(a, b);
  const Reference ip = ip_reference(a, b);
  for (Isa isa : available_isas()) {
    const KernelSet k = *kernels_for(isa);
    SCOPED_TRACE(std::string(isa_name(isa)) + " dim=" + std::to_string(a.size()));
    EXPECT_NEAR(k.l2_sqr(a.data(), b.data(), a.size()), l2.value, tolerance(a.size(), l2));
    EXPECT_NEAR(k.inner_product(a.data(), b.data(), a.size()), ip.value, tolerance(a.size(), ip));
  }
}

std::vector<float> random_vector(std::mt19937& rng, size_t dim, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(dim);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(DistanceTest, ScalarIsAlwaysAvailableAndBestIsLast) {
  const std::vector<Isa> isas = available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  EXPECT_EQ(best_kernels().isa, isas.back());
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const bool available = std::find(isas.begin(), isas.end(), isa) != isas.end();
    EXPECT_EQ(kernels_for(isa).has_value(), available) << isa_name(isa);
  }
}

TEST(DistanceTest, RandomVectorsEveryDimension) {
  std::mt19937 rng(20240601);
  for (size_t dim = 1; dim <= 67; ++dim) {
    for (float scale : {1e-3f, 1.0f, 1e3f}) {
      expect_all_paths_match(random_vector(rng, dim, scale), random_vector(rng, dim, scale));
    }
  }
}

TEST(DistanceTest, ZeroDimensionGivesZero) {
  for (Isa isa : available_isas()) {
    const KernelSet k = *kernels_for(isa);
    const float x = 1.0f;
    EXPECT_EQ(k.l2_sqr(&x, &x, 0), 0.0f);
    EXPECT_EQ(k.inner_product(&x, &x, 0), 0.0f);
  }
}

TEST(DistanceTest, AdversarialInputs) {
  for (size_t dim = 1; dim <= 67; ++dim) {
    const std::vector<float> zeros(dim, 0.0f);
    std::vector<float> denormal(dim), tiny(dim), large(dim), neg_large(dim), mixed(dim);
    for (size_t i = 0; i < dim; ++i) {
      denormal[i] = (i % 2 ? -1.0f : 1.0f) * FLT_TRUE_MIN * static_cast<float>(i + 1);
      tiny[i] = FLT_MIN * static_cast<float>(i % 7);
      large[i] = (i % 3 == 0 ? -1e18f : 1e18f);
      neg_large[i] = -large[i];
      mixed[i] = i % 2 ? 1e18f : 1e-3f;
    }
    expect_all_paths_match(zeros, zeros);
    expect_all_paths_match(denormal, zeros);
    expect_all_paths_match(denormal, denormal);
    expect_all_paths_match(tiny, denormal);
    expect_all_paths_match(large, neg_large);  // Squared differences of 4e36: near FLT_MAX / 67.
    expect_all_paths_match(large, large);
    expect_all_paths_match(mixed, large);  // Inner product with heavy cancellation.
    expect_all_paths_match(mixed, zeros);
  }
}

TEST(DistanceTest, RowKernelsMatchPairKernelsBitForBit) {
  std::mt19937 rng(7);
  for (Isa isa : available_isas()) {
    const KernelSet k = *kernels_for(isa);
    for (size_t dim : {1u, 7u, 8u, 15u, 16u, 17u, 31u, 33u, 64u, 100u, 128u}) {
      for (size_t n_rows : {0u, 1u, 3u, 4u, 5u, 9u}) {
        const std::vector<float> q = random_vector(rng, dim, 1.0f);
        const std::vector<float> rows = random_vector(rng, dim * n_rows, 1.0f);
        std::vector<float> l2(n_rows), ip(n_rows);
        k.l2_sqr_rows(q.data(), rows.data(), n_rows, dim, l2.data());
        k.inner_product_rows(q.data(), rows.data(), n_rows, dim, ip.data());
        for (size_t r = 0; r < n_rows; ++r) {
          EXPECT_EQ(l2[r], k.l2_sqr(q.data(), rows.data() + r * dim, dim)) << isa_name(isa);
          EXPECT_EQ(ip[r], k.inner_product(q.data(), rows.data() + r * dim, dim)) << isa_name(isa);
        }
      }
    }
  }
}

TEST(DistanceTest, SpanWrappersUseBestKernels) {
  const std::vector<float> a = {1, 2, 3}, b = {4, 6, 3};
  EXPECT_EQ(l2_sqr(a, b), 25.0f);
  EXPECT_EQ(inner_product(a, b), 25.0f);
}

TEST(DistanceTest, NormalizeInPlace) {
  std::vector<float> v = {3, 4};
  EXPECT_DOUBLE_EQ(normalize_in_place(v), 5.0);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);

  std::vector<float> zero(5, 0.0f);
  EXPECT_EQ(normalize_in_place(zero), 0.0);
  EXPECT_EQ(zero, std::vector<float>(5, 0.0f));

  // Denormal and huge components: the double accumulation neither underflows nor overflows.
  for (float c : {FLT_TRUE_MIN, 3.0f * FLT_TRUE_MIN, 1e30f, FLT_MAX}) {
    std::vector<float> w(67, c);
    EXPECT_GT(normalize_in_place(w), 0.0);
    EXPECT_NEAR(norm(w), 1.0, 1e-6) << c;
  }
}

// Components drawn from the regimes that break naive kernels: ordinary, zero, denormal, huge.
rc::Gen<float> component() {
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::inRange(-1000000, 1000001), [](int i) { return i * 1e-3f; }),
      rc::gen::element(0.0f, -0.0f, FLT_TRUE_MIN, -7.0f * FLT_TRUE_MIN, FLT_MIN),
      rc::gen::map(rc::gen::inRange(-1000, 1001), [](int i) { return i * 1e15f; }));
}

RC_GTEST_PROP(DistanceProperty, EveryPathMatchesDoubleReference, ()) {
  const size_t dim = *rc::gen::inRange<size_t>(1, 68);
  const auto a = *rc::gen::container<std::vector<float>>(dim, component());
  const auto b = *rc::gen::container<std::vector<float>>(dim, component());
  const Reference l2 = l2_reference(a, b);
  const Reference ip = ip_reference(a, b);
  for (Isa isa : available_isas()) {
    const KernelSet k = *kernels_for(isa);
    RC_ASSERT(std::fabs(k.l2_sqr(a.data(), b.data(), dim) - l2.value) <= tolerance(dim, l2));
    RC_ASSERT(std::fabs(k.inner_product(a.data(), b.data(), dim) - ip.value) <= tolerance(dim, ip));
  }
}

}  // namespace
}  // namespace meridian::index
