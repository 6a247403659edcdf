// HnswIndex::save / load (version 1 unquantised, version 2 SQ8): round trips give identical
// searches; truncated, bit-flipped and structurally corrupt encodings give DataLoss or a
// still-valid index, never a crash.
#include <cstring>
#include <iostream>
#include <random>

#include "index/hnsw_index.h"
#include "index/internal/hnsw_format.h"
#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

constexpr uint64_t kSeed = 424242;

std::vector<float> random_rows(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> out(n * dim);
  for (float& x : out) x = gauss(rng);
  return out;
}

// A small index with deletions, upper levels (m = 4 gives many) and every section populated.
std::unique_ptr<HnswIndex> small_index(Metric metric, size_t n = 60, size_t dim = 4,
                                       Quantization quantization = Quantization::kNone) {
  auto index = std::make_unique<HnswIndex>(
      static_cast<uint32_t>(dim), metric,
      HnswParams{.m = 4, .ef_construction = 20, .quantization = quantization});
  if (quantization == Quantization::kSq8) {
    EXPECT_TRUE(index->train(random_rows(n, dim, kSeed)).ok());
  }
  const std::vector<float> rows = random_rows(n, dim, kSeed);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(index->add(1000 + i, std::span(rows.data() + i * dim, dim)).ok());
  }
  for (size_t i = 0; i < n; i += 7) index->remove(1000 + i);
  return index;
}

// Searching a loaded (possibly corrupt but accepted) index must work and respect its contract.
void exercise(const HnswIndex& index) {
  const std::vector<float> q = random_rows(3, index.dim(), kSeed + 9);
  auto r = index.search(q, 5, 16);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& row : *r) {
    EXPECT_LE(row.size(), 5u);
    for (const Neighbor& n : row) EXPECT_TRUE(index.contains(n.label));
  }
}

void set_checksum(std::string& bytes) {
  const uint64_t sum = internal::hnsw_checksum(
      std::string_view(bytes).substr(0, bytes.size() - internal::kHnswChecksumBytes));
  std::memcpy(bytes.data() + bytes.size() - internal::kHnswChecksumBytes, &sum, sizeof(sum));
}

TEST(HnswIndexIoTest, RoundTripGivesIdenticalResults) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    auto index = small_index(metric, 500, 16);
    std::string bytes;
    MERIDIAN_ASSERT_OK(index->save(&bytes));
    auto loaded = HnswIndex::load(bytes);
    MERIDIAN_ASSERT_OK(loaded);
    EXPECT_EQ((*loaded)->size(), index->size());
    EXPECT_EQ((*loaded)->deleted_count(), index->deleted_count());
    EXPECT_EQ((*loaded)->metric(), metric);
    const std::vector<float> q = random_rows(20, 16, kSeed + 1);
    auto a = index->search(q, 10);
    auto b = (*loaded)->search(q, 10);
    MERIDIAN_ASSERT_OK(a);
    MERIDIAN_ASSERT_OK(b);
    EXPECT_EQ(*a, *b);
    std::string again;
    MERIDIAN_ASSERT_OK((*loaded)->save(&again));
    EXPECT_EQ(again, bytes);
    // The loaded index keeps growing exactly as the original would.
    const std::vector<float> more = random_rows(1, 16, kSeed + 2);
    MERIDIAN_ASSERT_OK(index->add(1, more));
    MERIDIAN_ASSERT_OK((*loaded)->add(1, more));
    std::string s1, s2;
    MERIDIAN_ASSERT_OK(index->save(&s1));
    MERIDIAN_ASSERT_OK((*loaded)->save(&s2));
    EXPECT_EQ(s1, s2);
  }
}

TEST(HnswIndexIoTest, EmptyIndexRoundTrips) {
  HnswIndex index(3, Metric::kCosine);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  EXPECT_EQ(bytes.size(), internal::kHnswHeaderBytes + internal::kHnswChecksumBytes);
  auto loaded = HnswIndex::load(bytes);
  MERIDIAN_ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->size(), 0u);
  exercise(**loaded);
}

TEST(HnswIndexIoTest, EveryTruncationIsDataLoss) {
  auto index = small_index(Metric::kL2);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index->save(&bytes));
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = HnswIndex::load(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << "length " << len;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  std::string longer = bytes + "x";
  MERIDIAN_EXPECT_CODE(HnswIndex::load(longer), absl::StatusCode::kDataLoss);
}

TEST(HnswIndexIoTest, ByteFlipsAreDataLoss) {
  auto index = small_index(Metric::kCosine);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index->save(&bytes));
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    MERIDIAN_EXPECT_CODE(HnswIndex::load(bad), absl::StatusCode::kDataLoss);
  }
}

// With the checksum recomputed, flips reach the structural checks: each load either fails with
// DataLoss or yields an index that searches without crashing.
TEST(HnswIndexIoTest, ResealedFlipsAreRejectedOrHarmless) {
  std::cout << "seed " << kSeed << "\n";
  std::mt19937_64 rng(kSeed);
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    auto index = small_index(metric);
    std::string bytes;
    MERIDIAN_ASSERT_OK(index->save(&bytes));
    size_t rejected = 0, accepted = 0;
    for (int trial = 0; trial < 3000; ++trial) {
      std::string bad = bytes;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        const size_t pos = rng() % (bad.size() - internal::kHnswChecksumBytes);
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
      }
      set_checksum(bad);
      auto r = HnswIndex::load(bad);
      if (r.ok()) {
        ++accepted;
        exercise(**r);
      } else {
        ++rejected;
        ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
      }
    }
    std::cout << metric_name(metric) << ": " << rejected << " rejected, " << accepted
              << " accepted\n";
    EXPECT_GT(rejected, 0u);
  }
}

// unreachable_count() on a graph known to be cut: a two-node index whose entry point lost its
// level-0 link (edited in the encoding, which does not check connectivity).
TEST(HnswIndexIoTest, UnreachableCountSeesACutGraph) {
  constexpr uint32_t kM = 4, kDim = 2;
  HnswIndex index(kDim, Metric::kL2, HnswParams{.m = kM});
  MERIDIAN_ASSERT_OK(index.add(7, std::vector<float>{0.0f, 0.0f}));
  MERIDIAN_ASSERT_OK(index.add(8, std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(index.unreachable_count(), 0u);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  uint32_t entry = 0;
  std::memcpy(&entry, bytes.data() + 48, sizeof entry);
  ASSERT_LT(entry, 2u);
  const size_t n = 2, record_bytes = 4 * (1 + 2 * kM) + 4 * kDim;
  const size_t records = 56 + 8 * n + n + n;
  const uint32_t none = 0;
  std::memcpy(bytes.data() + records + entry * record_bytes, &none, sizeof none);
  set_checksum(bytes);
  auto cut = HnswIndex::load(bytes);
  MERIDIAN_ASSERT_OK(cut);
  EXPECT_EQ((*cut)->unreachable_count(), 1u);
  // A deleted node is not counted: searches never return it anyway.
  ASSERT_TRUE((*cut)->remove(entry == 0 ? 8 : 7));
  EXPECT_EQ((*cut)->unreachable_count(), 0u);
}

TEST(HnswIndexIoTest, NamedCorruptionsAreDataLoss) {
  auto index = small_index(Metric::kL2);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index->save(&bytes));
  const auto corrupt_at = [&](size_t offset, const void* value, size_t size) {
    std::string bad = bytes;
    std::memcpy(bad.data() + offset, value, size);
    set_checksum(bad);
    return HnswIndex::load(bad).status();
  };
  const uint32_t version = 2, dim = 0, m = 1000, huge_entry = 1u << 30;
  const uint64_t huge_n = uint64_t{1} << 40;
  const int32_t level = 9;
  MERIDIAN_EXPECT_CODE(corrupt_at(8, &version, 4), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(12, &dim, 4), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(20, &m, 4), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(40, &huge_n, 8), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(48, &huge_entry, 4), absl::StatusCode::kDataLoss);
  MERIDIAN_EXPECT_CODE(corrupt_at(52, &level, 4), absl::StatusCode::kDataLoss);
  // First level-0 link of node 0 (after 60 labels, levels and deletion marks) out of range.
  const size_t record0 = internal::kHnswHeaderBytes + 60 * 10;
  const uint32_t bad_link = 60;
  MERIDIAN_EXPECT_CODE(corrupt_at(record0 + 4, &bad_link, 4), absl::StatusCode::kDataLoss);
  const uint32_t bad_count = 9;  // 2m = 8 links at most.
  MERIDIAN_EXPECT_CODE(corrupt_at(record0, &bad_count, 4), absl::StatusCode::kDataLoss);
  const float nan = std::nanf("");
  const size_t vector0 = record0 + 4 * (1 + 8);
  MERIDIAN_EXPECT_CODE(corrupt_at(vector0, &nan, 4), absl::StatusCode::kDataLoss);
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  MERIDIAN_EXPECT_CODE(HnswIndex::load(bad_magic), absl::StatusCode::kDataLoss);
}

TEST(HnswIndexIoTest, Sq8RoundTripGivesIdenticalResults) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    auto index = small_index(metric, 500, 16, Quantization::kSq8);
    std::string bytes;
    MERIDIAN_ASSERT_OK(index->save(&bytes));
    uint32_t version;
    std::memcpy(&version, bytes.data() + 8, 4);
    EXPECT_EQ(version, internal::kHnswSq8FormatVersion);
    auto loaded = HnswIndex::load(bytes);
    MERIDIAN_ASSERT_OK(loaded);
    EXPECT_EQ((*loaded)->params().quantization, Quantization::kSq8);
    EXPECT_GE((*loaded)->rerank_store_bytes(), (*loaded)->node_count() * 16 * sizeof(float));
    const std::vector<float> q = random_rows(20, 16, kSeed + 1);
    auto a = index->search(q, 10);
    auto b = (*loaded)->search(q, 10);
    MERIDIAN_ASSERT_OK(a);
    MERIDIAN_ASSERT_OK(b);
    EXPECT_EQ(*a, *b);
    std::string again;
    MERIDIAN_ASSERT_OK((*loaded)->save(&again));
    EXPECT_EQ(again, bytes);
    const std::vector<float> more = random_rows(1, 16, kSeed + 2);
    MERIDIAN_ASSERT_OK(index->add(1, more));
    MERIDIAN_ASSERT_OK((*loaded)->add(1, more));
    std::string s1, s2;
    MERIDIAN_ASSERT_OK(index->save(&s1));
    MERIDIAN_ASSERT_OK((*loaded)->save(&s2));
    EXPECT_EQ(s1, s2);
  }
}

TEST(HnswIndexIoTest, Sq8UntrainedEmptyIndexRoundTrips) {
  HnswIndex index(3, Metric::kL2, HnswParams{.quantization = Quantization::kSq8});
  std::string bytes;
  MERIDIAN_ASSERT_OK(index.save(&bytes));
  EXPECT_EQ(bytes.size(), internal::kHnswSq8HeaderBytes + internal::kHnswChecksumBytes);
  auto loaded = HnswIndex::load(bytes);
  MERIDIAN_ASSERT_OK(loaded);
  EXPECT_FALSE((*loaded)->is_trained());
  exercise(**loaded);
}

TEST(HnswIndexIoTest, Sq8EveryTruncationAndFlipIsDataLoss) {
  auto index = small_index(Metric::kL2, 60, 4, Quantization::kSq8);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index->save(&bytes));
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = HnswIndex::load(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << "length " << len;
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    ASSERT_EQ(HnswIndex::load(bad).status().code(), absl::StatusCode::kDataLoss) << pos;
  }
}

TEST(HnswIndexIoTest, Sq8ResealedFlipsAreRejectedOrHarmless) {
  std::mt19937_64 rng(kSeed + 5);
  auto index = small_index(Metric::kCosine, 60, 4, Quantization::kSq8);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index->save(&bytes));
  size_t rejected = 0, accepted = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bad = bytes;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const size_t span = trial % 2 ? internal::kHnswSq8HeaderBytes + 32
                                    : bad.size() - internal::kHnswChecksumBytes;
      const size_t pos = rng() % span;
      bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
    }
    set_checksum(bad);
    auto r = HnswIndex::load(bad);
    if (r.ok()) {
      ++accepted;
      exercise(**r);
    } else {
      ++rejected;
      ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    }
  }
  std::cout << "sq8: " << rejected << " rejected, " << accepted << " accepted\n";
  EXPECT_GT(rejected, 0u);
}

TEST(HnswIndexIoTest, Sq8NamedCorruptionsAreDataLoss) {
  auto index = small_index(Metric::kL2, 60, 4, Quantization::kSq8);
  std::string bytes;
  MERIDIAN_ASSERT_OK(index->save(&bytes));
  const auto corrupt_at = [&](size_t offset, const void* value, size_t size) {
    std::string bad = bytes;
    std::memcpy(bad.data() + offset, value, size);
    set_checksum(bad);
    return HnswIndex::load(bad).status();
  };
  const uint32_t one = 1, zero = 0, five = 5;
  MERIDIAN_EXPECT_CODE(corrupt_at(8, &one, 4), absl::StatusCode::kDataLoss);    // version 1
  MERIDIAN_EXPECT_CODE(corrupt_at(56, &zero, 4), absl::StatusCode::kDataLoss);  // quantization
  MERIDIAN_EXPECT_CODE(corrupt_at(60, &zero, 4), absl::StatusCode::kDataLoss);  // refine_factor
  MERIDIAN_EXPECT_CODE(corrupt_at(64, &zero, 4), absl::StatusCode::kDataLoss);  // untrained
  MERIDIAN_EXPECT_CODE(corrupt_at(64, &five, 4), absl::StatusCode::kDataLoss);  // wrong dim
  const float negative = -1.0f, nan = std::nanf("");
  MERIDIAN_EXPECT_CODE(corrupt_at(internal::kHnswSq8HeaderBytes + 16, &negative, 4),
                       absl::StatusCode::kDataLoss);  // First scale.
  // First float32 of the re-rank store: after 60 labels, levels, marks and level-0 records
  // (4 * (1 + 8) + 4 bytes each).
  const size_t store0 = internal::kHnswSq8HeaderBytes + 32 + 60 * 10 + 60 * 40;
  MERIDIAN_EXPECT_CODE(corrupt_at(store0, &nan, 4), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace meridian::index
