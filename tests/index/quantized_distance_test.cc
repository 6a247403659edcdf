// Every available path of the SQ8 and PQ-table kernels against a plain double-precision loop, on
// random and adversarial inputs (odd dimensions, extreme codes, denormal, huge and zero scales);
// row kernels against pair kernels bit for bit.
#include "index/quantized_distance.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cfloat>
#include <cmath>
#include <iostream>
#include <random>

#include "index/scalar_quantizer.h"

namespace meridian::index {
namespace {

constexpr uint32_t kSeed = 20261125;

struct Reference {
  double value;
  double magnitude;  // The scale float rounding error is relative to.
};

// sum (qm - scale * code)^2; each difference errs by about eps * (|qm| + |scale * code|).
Reference sq8_l2_reference(const std::vector<float>& qm, const std::vector<float>& scale,
                           const std::vector<uint8_t>& code) {
  Reference r{0, 0};
  for (size_t i = 0; i < qm.size(); ++i) {
    const double sc = static_cast<double>(scale[i]) * code[i];
    const double d = qm[i] - sc;
    r.value += d * d;
    r.magnitude += (std::fabs(qm[i]) + std::fabs(sc)) * (std::fabs(qm[i]) + std::fabs(sc));
  }
  return r;
}

Reference sq8_dot_reference(const std::vector<float>& qs, const std::vector<uint8_t>& code) {
  Reference r{0, 0};
  for (size_t i = 0; i < qs.size(); ++i) {
    const double t = static_cast<double>(qs[i]) * code[i];
    r.value += t;
    r.magnitude += std::fabs(t);
  }
  return r;
}

// n-term float accumulation errs by about n * eps * magnitude; allow four times that, plus an
// absolute slack for products that underflow in float.
double tolerance(size_t dim, const Reference& r) {
  return 4.0 * static_cast<double>(dim + 2) * FLT_EPSILON * r.magnitude + 1e-30;
}

void expect_sq8_paths_match(const std::vector<float>& q, const std::vector<float>& scale,
                            const std::vector<uint8_t>& code) {
  const size_t dim = q.size();
  const Reference l2 = sq8_l2_reference(q, scale, code);
  const Reference dot = sq8_dot_reference(q, code);
  for (Isa isa : available_isas()) {
    const QuantizedKernelSet k = *quantized_kernels_for(isa);
    SCOPED_TRACE(std::string(isa_name(isa)) + " dim=" + std::to_string(dim));
    // Exact-size buffers: a tail read past the code would show under ASan.
    EXPECT_NEAR(k.sq8_l2_sqr(q.data(), scale.data(), code.data(), dim), l2.value,
                tolerance(dim, l2));
    EXPECT_NEAR(k.sq8_dot(q.data(), code.data(), dim), dot.value, tolerance(dim, dot));
  }
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> random_codes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> c(n);
  for (uint8_t& b : c) b = static_cast<uint8_t>(rng());
  return c;
}

TEST(QuantizedDistanceTest, EveryIsaHasAKernelSet) {
  for (Isa isa : available_isas()) {
    ASSERT_TRUE(quantized_kernels_for(isa).has_value()) << isa_name(isa);
    EXPECT_EQ(quantized_kernels_for(isa)->isa, isa);
  }
  EXPECT_EQ(best_quantized_kernels().isa, available_isas().back());
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    EXPECT_EQ(quantized_kernels_for(isa).has_value(), kernels_for(isa).has_value());
  }
}

TEST(QuantizedDistanceTest, Sq8RandomEveryDimension) {
  std::cout << "seed " << kSeed << "\n";
  std::mt19937 rng(kSeed);
  for (size_t dim = 0; dim <= 70; ++dim) {
    for (float s : {1e-3f, 1.0f, 1e3f}) {
      std::vector<float> scale = random_floats(rng, dim, s / 255.0f);
      for (float& x : scale) x = std::fabs(x);
      expect_sq8_paths_match(random_floats(rng, dim, s), scale, random_codes(rng, dim));
    }
  }
}

TEST(QuantizedDistanceTest, Sq8Adversarial) {
  for (size_t dim = 1; dim <= 67; ++dim) {
    std::vector<float> zeros(dim, 0.0f), denormal(dim), large(dim), constant_dims(dim), ones(dim);
    std::vector<uint8_t> c0(dim, 0), c255(dim, 255), alternate(dim);
    for (size_t i = 0; i < dim; ++i) {
      denormal[i] = (i % 2 ? -1.0f : 1.0f) * FLT_TRUE_MIN * static_cast<float>(i + 1);
      large[i] = (i % 3 == 0 ? -1e18f : 1e18f);
      constant_dims[i] = i % 2 ? 0.0f : 1e16f;  // scale 0: max == min in every other dimension.
      ones[i] = 1.0f;
      alternate[i] = i % 2 ? 255 : 0;
    }
    expect_sq8_paths_match(zeros, zeros, c255);
    expect_sq8_paths_match(denormal, denormal, c255);
    expect_sq8_paths_match(denormal, ones, alternate);
    expect_sq8_paths_match(large, constant_dims, c255);  // Differences up to 2.6e18.
    expect_sq8_paths_match(large, constant_dims, alternate);
    expect_sq8_paths_match(ones, constant_dims, c0);
    expect_sq8_paths_match(large, zeros, alternate);
  }
}

TEST(QuantizedDistanceTest, Sq8RowsMatchPairBitForBit) {
  std::mt19937 rng(kSeed + 1);
  for (Isa isa : available_isas()) {
    const QuantizedKernelSet k = *quantized_kernels_for(isa);
    for (size_t dim : {1u, 7u, 8u, 15u, 16u, 17u, 31u, 33u, 100u, 128u}) {
      for (size_t n_rows : {0u, 1u, 3u, 5u}) {
        const std::vector<float> q = random_floats(rng, dim, 1.0f);
        const std::vector<float> scale = random_floats(rng, dim, 0.01f);
        const std::vector<uint8_t> codes = random_codes(rng, dim * n_rows);
        std::vector<float> l2(n_rows), dot(n_rows);
        k.sq8_l2_sqr_rows(q.data(), scale.data(), codes.data(), n_rows, dim, l2.data());
        k.sq8_dot_rows(q.data(), codes.data(), n_rows, dim, dot.data());
        for (size_t r = 0; r < n_rows; ++r) {
          EXPECT_EQ(l2[r], k.sq8_l2_sqr(q.data(), scale.data(), codes.data() + r * dim, dim));
          EXPECT_EQ(dot[r], k.sq8_dot(q.data(), codes.data() + r * dim, dim));
        }
      }
    }
  }
}

// The kernels with a prepared query equal the plain distance to the decoded vector.
TEST(QuantizedDistanceTest, Sq8PreparedQueryMatchesDecodedReference) {
  std::mt19937 rng(kSeed + 2);
  for (size_t dim : {1u, 5u, 16u, 33u, 100u}) {
    const std::vector<float> train = random_floats(rng, 50 * dim, 2.0f);
    auto sq = ScalarQuantizer::train(train, static_cast<uint32_t>(dim));
    ASSERT_TRUE(sq.ok()) << sq.status();
    const std::vector<float> q = random_floats(rng, dim, 2.0f);
    std::vector<uint8_t> code(dim);
    std::vector<float> decoded(dim), qm(dim), qs(dim);
    sq->encode(train.data(), code.data());
    sq->decode(code.data(), decoded.data());
    sq->prepare_l2(q.data(), qm.data());
    const float bias = sq->prepare_dot(q.data(), qs.data());
    double l2 = 0, ip = 0, magnitude = 0;
    for (size_t i = 0; i < dim; ++i) {
      l2 += (static_cast<double>(q[i]) - decoded[i]) * (static_cast<double>(q[i]) - decoded[i]);
      ip += static_cast<double>(q[i]) * decoded[i];
      magnitude += (std::fabs(q[i]) + std::fabs(decoded[i]) + std::fabs(sq->min()[i])) *
                   (std::fabs(q[i]) + std::fabs(decoded[i]) + std::fabs(sq->min()[i]));
    }
    const double tol = 8.0 * static_cast<double>(dim + 2) * FLT_EPSILON * magnitude;
    for (Isa isa : available_isas()) {
      const QuantizedKernelSet k = *quantized_kernels_for(isa);
      EXPECT_NEAR(k.sq8_l2_sqr(qm.data(), sq->scale().data(), code.data(), dim), l2, tol);
      EXPECT_NEAR(bias + k.sq8_dot(qs.data(), code.data(), dim), ip, tol);
    }
  }
}

TEST(QuantizedDistanceTest, PqTablesMatchReference) {
  std::mt19937 rng(kSeed + 3);
  for (size_t dsub : {0u, 1u, 2u, 3u, 4u, 8u, 13u, 32u}) {
    for (float s : {1e-3f, 1.0f, 1e6f}) {
      const std::vector<float> x = random_floats(rng, dsub, s);
      const std::vector<float> c = random_floats(rng, dsub * kPqCentroids, s);
      for (Isa isa : available_isas()) {
        const QuantizedKernelSet k = *quantized_kernels_for(isa);
        std::vector<float> l2(kPqCentroids, -1.0f), dot(kPqCentroids, -1.0f);
        k.pq_l2_table(x.data(), c.data(), dsub, l2.data());
        k.pq_dot_table(x.data(), c.data(), dsub, dot.data());
        for (size_t b = 0; b < kPqCentroids; ++b) {
          Reference rl{0, 0}, rd{0, 0};
          for (size_t d = 0; d < dsub; ++d) {
            const double diff = static_cast<double>(x[d]) - c[d * kPqCentroids + b];
            rl.value += diff * diff;
            rl.magnitude += diff * diff;
            rd.value += static_cast<double>(x[d]) * c[d * kPqCentroids + b];
            rd.magnitude += std::fabs(static_cast<double>(x[d]) * c[d * kPqCentroids + b]);
          }
          ASSERT_NEAR(l2[b], rl.value, tolerance(dsub, rl)) << isa_name(isa) << " b=" << b;
          ASSERT_NEAR(dot[b], rd.value, tolerance(dsub, rd)) << isa_name(isa) << " b=" << b;
        }
      }
    }
  }
}

TEST(QuantizedDistanceTest, PqTablesAdversarial) {
  for (size_t dsub : {1u, 5u}) {
    for (float v : {0.0f, FLT_TRUE_MIN, -1e18f}) {
      const std::vector<float> x(dsub, v);
      std::vector<float> c(dsub * kPqCentroids);
      for (size_t i = 0; i < c.size(); ++i) c[i] = i % 2 ? 1e18f : FLT_TRUE_MIN;
      for (Isa isa : available_isas()) {
        const QuantizedKernelSet k = *quantized_kernels_for(isa);
        std::vector<float> l2(kPqCentroids);
        k.pq_l2_table(x.data(), c.data(), dsub, l2.data());
        for (size_t b = 0; b < kPqCentroids; ++b) {
          double ref = 0;
          for (size_t d = 0; d < dsub; ++d) {
            const double diff = static_cast<double>(x[d]) - c[d * kPqCentroids + b];
            ref += diff * diff;
          }
          EXPECT_NEAR(l2[b], ref, 4.0 * (dsub + 2) * FLT_EPSILON * ref + 1e-30) << isa_name(isa);
        }
      }
    }
  }
}

// Components from the regimes that break naive kernels: ordinary, zero, denormal, huge.
rc::Gen<float> component() {
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::inRange(-1000000, 1000001), [](int i) { return i * 1e-3f; }),
      rc::gen::element(0.0f, -0.0f, FLT_TRUE_MIN, -7.0f * FLT_TRUE_MIN, FLT_MIN),
      rc::gen::map(rc::gen::inRange(-1000, 1001), [](int i) { return i * 1e15f; }));
}

RC_GTEST_PROP(QuantizedDistanceProperty, Sq8EveryPathMatchesDoubleReference, ()) {
  const size_t dim = *rc::gen::inRange<size_t>(1, 68);
  const auto q = *rc::gen::container<std::vector<float>>(dim, component());
  auto scale = *rc::gen::container<std::vector<float>>(dim, component());
  for (float& s : scale) s = std::fabs(s) / 255.0f;
  const auto code = *rc::gen::container<std::vector<uint8_t>>(dim, rc::gen::arbitrary<uint8_t>());
  const Reference l2 = sq8_l2_reference(q, scale, code);
  const Reference dot = sq8_dot_reference(q, code);
  for (Isa isa : available_isas()) {
    const QuantizedKernelSet k = *quantized_kernels_for(isa);
    RC_ASSERT(std::fabs(k.sq8_l2_sqr(q.data(), scale.data(), code.data(), dim) - l2.value) <=
              tolerance(dim, l2));
    RC_ASSERT(std::fabs(k.sq8_dot(q.data(), code.data(), dim) - dot.value) <= tolerance(dim, dot));
  }
}

}  // namespace
}  // namespace meridian::index
