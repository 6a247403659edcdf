// IvfFlatIndex::save / load (float32 and SQ8 lists): round trips give identical searches; every
// truncation, every byte flip and resealed random flips give DataLoss or a still-valid index.
#include <cstring>
#include <iostream>
#include <random>

#include "index/internal/byte_codec.h"
#include "index/internal/ivf_format.h"
#include "index/ivf_flat_index.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

constexpr uint64_t kSeed = 616161;

std::vector<float> random_rows(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> out(n * dim);
  for (float& x : out) x = gauss(rng);
  return out;
}

IvfFlatIndex small_index(Metric metric, Quantization quantization, size_t n = 100,
                         uint32_t dim = 4) {
  IvfFlatIndex index(dim, metric, {.nlist = 4, .quantization = quantization});
  const std::vector<float> rows = random_rows(n, dim, kSeed);
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = 1000 + i;
  EXPECT_TRUE(index.add_batch(labels, rows).ok());
  for (size_t i = 0; i < n; i += 7) index.remove(1000 + i);
  return index;
}

void exercise(const IvfFlatIndex& index) {
  const std::vector<float> q = random_rows(3, index.dim(), kSeed + 9);
  auto r = index.search(q, 5, 2);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& row : *r) {
    EXPECT_LE(row.size(), 5u);
    for (const Neighbor& n : row) EXPECT_TRUE(index.contains(n.label));
  }
}

void set_checksum(std::string& bytes) {
  const uint64_t sum = internal::format_checksum(
      std::string_view(bytes).substr(0, bytes.size() - internal::kChecksumBytes));
  std::memcpy(bytes.data() + bytes.size() - internal::kChecksumBytes, &sum, sizeof(sum));
}

class IvfFlatIoTest : public ::testing::TestWithParam<Quantization> {};

TEST_P(IvfFlatIoTest, RoundTripGivesIdenticalResults) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    const IvfFlatIndex index = small_index(metric, GetParam(), 500, 16);
    std::string bytes;
    MERIDIAN_ASSERT_OK(index.save(&bytes));
    auto loaded = IvfFlatIndex::load(bytes);
    MERIDIAN_ASSERT_OK(loaded);
    EXPECT_EQ(loaded->size(), index.size());
    EXPECT_EQ(loaded->nlist(), index.nlist());
    EXPECT_EQ(loaded->params().quantization, GetParam());
    EXPECT_EQ(loaded->rerank_store_bytes() > 0, GetParam() == Quantization::kSq8);
    const std::vector<float> q = random_rows(20, 16, kSeed + 1);
    auto a = index.search(q, 10, 2);
    auto b = loaded->search(q, 10, 2);
    MERIDIAN_ASSERT_OK(a);
    MERIDIAN_ASSERT_OK(b);
    EXPECT_EQ(*a, *b);
    std::string again;
    MERIDIAN_ASSERT_OK(loaded->save(&again));
    EXPECT_EQ(again, bytes);
    IvfFlatIndex grown = index;
    const std::vector<float> more = random_rows(1, 16, kSeed + 2);
    MERIDIAN_ASSERT_OK(grown.add(1, more));
    MERIDIAN_ASSERT_OK(loaded->add(1, more));
    std::string s1, s2;
    MERIDIAN_ASSERT_OK(grown.save(&s1));
    MERIDIAN_ASSERT_OK(loaded->save(&s2));
    EXPECT_EQ(s1, s2);
  }
}

TEST_P(IvfFlatIoTest, UntrainedIndexRoundTrips) {
  IvfFlatIndex index(5, Metric::kL2, {.nprobe = 3, .quantization = GetParam()});
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  EXPECT_EQ(bytes.size(), internal::kIvfFlatHeaderBytes + internal::kChecksumBytes);
  auto loaded = IvfFlatIndex::load(bytes);
  MERIDIAN_ASSERT_OK(loaded);
  EXPECT_FALSE(loaded->is_trained());
  EXPECT_EQ(loaded->params().nprobe, 3u);
}

TEST_P(IvfFlatIoTest, EveryTruncationIsDataLoss) {
  const IvfFlatIndex index = small_index(Metric::kL2, GetParam());
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = IvfFlatIndex::load(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << "length " << len;
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  MERIDIAN_EXPECT_CODE(IvfFlatIndex::load(bytes + "x"), absl::StatusCode::kDataLoss);
}

TEST_P(IvfFlatIoTest, ByteFlipsAreDataLoss) {
  const IvfFlatIndex index = small_index(Metric::kCosine, GetParam());
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    ASSERT_EQ(IvfFlatIndex::load(bad).status().code(), absl::StatusCode::kDataLoss) << pos;
  }
}

TEST_P(IvfFlatIoTest, ResealedFlipsAreRejectedOrHarmless) {
  std::cout << "seed " << kSeed << "\n";
  std::mt19937_64 rng(kSeed);
  const IvfFlatIndex index = small_index(Metric::kL2, GetParam());
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  size_t rejected = 0, accepted = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bad = bytes;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const size_t span =
          trial % 2 ? internal::kIvfFlatHeaderBytes : bad.size() - internal::kChecksumBytes;
      const size_t pos = rng() % span;
      bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
    }
    set_checksum(bad);
    auto r = IvfFlatIndex::load(bad);
    if (r.ok()) {
      ++accepted;
      exercise(*r);
    } else {
      ++rejected;
      ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    }
  }
  std::cout << rejected << " rejected, " << accepted << " accepted\n";
  EXPECT_GT(rejected, 0u);
}

TEST_P(IvfFlatIoTest, NamedCorruptionsAreDataLoss) {
  const IvfFlatIndex index = small_index(Metric::kL2, GetParam());
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  const auto corrupt_at = [&](size_t offset, const void* value, size_t size) {
    std::string bad = bytes;
    std::memcpy(bad.data() + offset, value, size);
    set_checksum(bad);
    return IvfFlatIndex::load(bad).status();
  };
  const uint32_t version = 2, zero = 0, big = 1u << 30, sq8 = 1, none = 0, three = 3;
  const uint64_t huge_n = uint64_t{1} << 40;
  MERIDIAN_EXPECT_CODE(corrupt_at(8, &version, 4), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(12, &zero, 4), absl::StatusCode::kDataLoss);   // dim
  MERIDIAN_EXPECT_CODE(corrupt_at(16, &big, 4), absl::StatusCode::kDataLoss);    // metric
  MERIDIAN_EXPECT_CODE(corrupt_at(20, &three, 4), absl::StatusCode::kDataLoss);  // quantization
  MERIDIAN_EXPECT_CODE(corrupt_at(20, GetParam() == Quantization::kSq8 ? &none : &sq8, 4),
                       absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(28, &zero, 4), absl::StatusCode::kDataLoss);    // nprobe
  MERIDIAN_EXPECT_CODE(corrupt_at(36, &zero, 4), absl::StatusCode::kDataLoss);    // refine
  MERIDIAN_EXPECT_CODE(corrupt_at(56, &big, 4), absl::StatusCode::kDataLoss);     // L
  MERIDIAN_EXPECT_CODE(corrupt_at(60, &big, 4), absl::StatusCode::kDataLoss);     // reserved
  MERIDIAN_EXPECT_CODE(corrupt_at(64, &huge_n, 8), absl::StatusCode::kDataLoss);  // n
  const float nan = std::nanf(""), negative = -1.0f;
  MERIDIAN_EXPECT_CODE(corrupt_at(internal::kIvfFlatHeaderBytes, &nan, 4),
                       absl::StatusCode::kDataLoss);  // First centroid.
  size_t list0 = internal::kIvfFlatHeaderBytes + 4 * 4 * 4;
  if (GetParam() == Quantization::kSq8) {
    // The first scale (after 4 minima) made negative.
    MERIDIAN_EXPECT_CODE(corrupt_at(list0 + 16, &negative, 4), absl::StatusCode::kDataLoss);
    list0 += 2 * 4 * 4;
  }
  MERIDIAN_EXPECT_CODE(corrupt_at(list0, &big, 4), absl::StatusCode::kDataLoss);
  uint32_t count;
  std::memcpy(&count, bytes.data() + list0, 4);
  ASSERT_GE(count, 2u);
  uint64_t first_label;
  std::memcpy(&first_label, bytes.data() + list0 + 4, 8);
  MERIDIAN_EXPECT_CODE(corrupt_at(list0 + 12, &first_label, 8), absl::StatusCode::kDataLoss);
  // The first stored float32 vector made non-finite.
  const size_t vectors0 =
      list0 + 4 + 8 * count + (GetParam() == Quantization::kSq8 ? 4 * count : 0);
  MERIDIAN_EXPECT_CODE(corrupt_at(vectors0, &nan, 4), absl::StatusCode::kDataLoss);
}

INSTANTIATE_TEST_SUITE_P(Quantizations, IvfFlatIoTest,
                         ::testing::Values(Quantization::kNone, Quantization::kSq8),
                         [](const auto& info) {
                           return std::string(quantization_name(info.param));
                         });

}  // namespace
}  // namespace meridian::index
