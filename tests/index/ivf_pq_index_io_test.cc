// IvfPqIndex::save / load: round trips give identical searches; every truncation, every byte
// flip and resealed random flips give DataLoss or a still-valid index, never a crash.
#include <cstring>
#include <iostream>
#include <random>

#include "index/internal/byte_codec.h"
#include "index/internal/ivf_format.h"
#include "index/ivf_pq_index.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

constexpr uint64_t kSeed = 515151;

std::vector<float> random_rows(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> out(n * dim);
  for (float& x : out) x = gauss(rng);
  return out;
}

// A small trained index with removals; `refine` keeps the float32 store too.
IvfPqIndex small_index(Metric metric, uint32_t refine, size_t n = 120, uint32_t dim = 4) {
  IvfPqIndex index(dim, metric, {.nlist = 3, .m = 2, .refine_factor = refine});
  const std::vector<float> rows = random_rows(n, dim, kSeed);
  std::vector<uint64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = 1000 + i;
  EXPECT_TRUE(index.add_batch(labels, rows).ok());
  for (size_t i = 0; i < n; i += 7) index.remove(1000 + i);
  return index;
}

void exercise(const IvfPqIndex& index) {
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

TEST(IvfPqIndexIoTest, RoundTripGivesIdenticalResults) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    for (uint32_t refine : {0u, 3u}) {
      const IvfPqIndex index = small_index(metric, refine, 600, 16);
      std::string bytes;
      MERIDIAN_ASSERT_OK(index.save(&bytes));
      auto loaded = IvfPqIndex::load(bytes);
      MERIDIAN_ASSERT_OK(loaded);
      EXPECT_EQ(loaded->size(), index.size());
      EXPECT_EQ(loaded->nlist(), index.nlist());
      EXPECT_EQ(loaded->metric(), metric);
      EXPECT_EQ(loaded->rerank_store_bytes() > 0, refine > 0);
      const std::vector<float> q = random_rows(20, 16, kSeed + 1);
      auto a = index.search(q, 10, 3);
      auto b = loaded->search(q, 10, 3);
      MERIDIAN_ASSERT_OK(a);
      MERIDIAN_ASSERT_OK(b);
      EXPECT_EQ(*a, *b);
      std::string again;
      MERIDIAN_ASSERT_OK(loaded->save(&again));
      EXPECT_EQ(again, bytes);
      // The loaded index keeps growing exactly as the original would.
      IvfPqIndex grown = index;
      const std::vector<float> more = random_rows(1, 16, kSeed + 2);
      MERIDIAN_ASSERT_OK(grown.add(1, more));
      MERIDIAN_ASSERT_OK(loaded->add(1, more));
      std::string s1, s2;
      MERIDIAN_ASSERT_OK(grown.save(&s1));
      MERIDIAN_ASSERT_OK(loaded->save(&s2));
      EXPECT_EQ(s1, s2);
    }
  }
}

TEST(IvfPqIndexIoTest, UntrainedIndexRoundTrips) {
  IvfPqIndex index(6, Metric::kCosine, {.m = 3, .refine_factor = 2});
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  EXPECT_EQ(bytes.size(), internal::kIvfPqHeaderBytes + internal::kChecksumBytes);
  auto loaded = IvfPqIndex::load(bytes);
  MERIDIAN_ASSERT_OK(loaded);
  EXPECT_FALSE(loaded->is_trained());
  EXPECT_EQ(loaded->params().refine_factor, 2u);
  EXPECT_EQ(loaded->code_bytes(), 3u);
}

TEST(IvfPqIndexIoTest, EveryTruncationIsDataLoss) {
  const IvfPqIndex index = small_index(Metric::kL2, 2);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = IvfPqIndex::load(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << "length " << len;
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  MERIDIAN_EXPECT_CODE(IvfPqIndex::load(bytes + "x"), absl::StatusCode::kDataLoss);
}

TEST(IvfPqIndexIoTest, ByteFlipsAreDataLoss) {
  const IvfPqIndex index = small_index(Metric::kCosine, 0);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    ASSERT_EQ(IvfPqIndex::load(bad).status().code(), absl::StatusCode::kDataLoss) << pos;
  }
}

// With the checksum recomputed, flips reach the structural checks: each load either fails with
// DataLoss or yields an index that searches without crashing.
TEST(IvfPqIndexIoTest, ResealedFlipsAreRejectedOrHarmless) {
  std::cout << "seed " << kSeed << "\n";
  std::mt19937_64 rng(kSeed);
  for (uint32_t refine : {0u, 2u}) {
    const IvfPqIndex index = small_index(Metric::kL2, refine);
    std::string bytes;
    MERIDIAN_ASSERT_OK(index.save(&bytes));
    size_t rejected = 0, accepted = 0;
    for (int trial = 0; trial < 2000; ++trial) {
      std::string bad = bytes;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        // Half the flips land in the header, where most of the structure is.
        const size_t span =
            trial % 2 ? internal::kIvfPqHeaderBytes : bad.size() - internal::kChecksumBytes;
        const size_t pos = rng() % span;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
      }
      set_checksum(bad);
      auto r = IvfPqIndex::load(bad);
      if (r.ok()) {
        ++accepted;
        exercise(*r);
      } else {
        ++rejected;
        ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
      }
    }
    std::cout << "refine " << refine << ": " << rejected << " rejected, " << accepted
              << " accepted\n";
    EXPECT_GT(rejected, 0u);
  }
}

TEST(IvfPqIndexIoTest, NamedCorruptionsAreDataLoss) {
  const IvfPqIndex index = small_index(Metric::kL2, 2);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  const auto corrupt_at = [&](size_t offset, const void* value, size_t size) {
    std::string bad = bytes;
    std::memcpy(bad.data() + offset, value, size);
    set_checksum(bad);
    return IvfPqIndex::load(bad).status();
  };
  const uint32_t version = 2, zero = 0, big = 1u << 30, wrong_m = 3;
  const uint64_t huge_n = uint64_t{1} << 40;
  MERIDIAN_EXPECT_CODE(corrupt_at(8, &version, 4), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(12, &zero, 4), absl::StatusCode::kDataLoss);     // dim
  MERIDIAN_EXPECT_CODE(corrupt_at(16, &big, 4), absl::StatusCode::kDataLoss);      // metric
  MERIDIAN_EXPECT_CODE(corrupt_at(24, &zero, 4), absl::StatusCode::kDataLoss);     // nprobe
  MERIDIAN_EXPECT_CODE(corrupt_at(28, &big, 4), absl::StatusCode::kDataLoss);      // params.m
  MERIDIAN_EXPECT_CODE(corrupt_at(32, &zero, 4), absl::StatusCode::kDataLoss);     // refine
  MERIDIAN_EXPECT_CODE(corrupt_at(40, &wrong_m, 4), absl::StatusCode::kDataLoss);  // m
  MERIDIAN_EXPECT_CODE(corrupt_at(44, &big, 4), absl::StatusCode::kDataLoss);      // L
  MERIDIAN_EXPECT_CODE(corrupt_at(72, &huge_n, 8), absl::StatusCode::kDataLoss);   // n
  const float nan = std::nanf("");
  MERIDIAN_EXPECT_CODE(corrupt_at(internal::kIvfPqHeaderBytes, &nan, 4),
                       absl::StatusCode::kDataLoss);  // First centroid.
  MERIDIAN_EXPECT_CODE(corrupt_at(internal::kIvfPqHeaderBytes + 3 * 4 * 4 + 8, &nan, 4),
                       absl::StatusCode::kDataLoss);  // A product-quantiser centroid.
  // The first list's count, and its second label made equal to its first.
  const size_t list0 = internal::kIvfPqHeaderBytes + (3 * 4 + 256 * 4) * 4;
  MERIDIAN_EXPECT_CODE(corrupt_at(list0, &big, 4), absl::StatusCode::kDataLoss);
  uint64_t first_label;
  std::memcpy(&first_label, bytes.data() + list0 + 4, 8);
  MERIDIAN_EXPECT_CODE(corrupt_at(list0 + 12, &first_label, 8), absl::StatusCode::kDataLoss);
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  MERIDIAN_EXPECT_CODE(IvfPqIndex::load(bad_magic), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::index
