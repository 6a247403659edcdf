// Tests for the test-side .fvecs/.ivecs reader, including truncated and corrupt files.
#include "tests/index/fvecs_reader.h"

#include <cstring>
#include <fstream>

#include "tests/support/test_support.h"

namespace meridian::index::testing {
namespace {

using ::meridian::testing::TempDir;

void write_bytes(const std::filesystem::path& p, const std::vector<int32_t>& words,
                 size_t cut = 0) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(words.data()),
            static_cast<std::streamsize>(words.size() * 4 - cut));
}

int32_t bits_of(float f) {
  int32_t i;
  std::memcpy(&i, &f, 4);
  return i;
}

TEST(FvecsReaderTest, ReadsRowsAndHonoursMaxRows) {
  TempDir dir;
  const auto p = dir.path() / "a.fvecs";
  write_bytes(p, {2, bits_of(1.5f), bits_of(-2.0f), 2, bits_of(3.0f), bits_of(4.0f)});
  auto all = read_fvecs(p);
  MERIDIAN_ASSERT_OK(all);
  EXPECT_EQ(all->rows, 2u);
  EXPECT_EQ(all->dim, 2u);
  EXPECT_EQ(all->values, (std::vector<float>{1.5f, -2.0f, 3.0f, 4.0f}));
  auto one = read_fvecs(p, 1);
  MERIDIAN_ASSERT_OK(one);
  EXPECT_EQ(one->rows, 1u);
}

TEST(FvecsReaderTest, ReadsIvecs) {
  TempDir dir;
  const auto p = dir.path() / "a.ivecs";
  write_bytes(p, {3, 7, 8, 9});
  auto m = read_ivecs(p);
  MERIDIAN_ASSERT_OK(m);
  EXPECT_EQ(m->values, (std::vector<int32_t>{7, 8, 9}));
}

TEST(FvecsReaderTest, RejectsCorruptFiles) {
  TempDir dir;
  const auto p = dir.path() / "bad.ivecs";
  write_bytes(p, {2, 1, 2}, /*cut=*/2);  // Truncated inside a row.
  EXPECT_EQ(read_ivecs(p).status().code(), absl::StatusCode::kDataLoss);
  write_bytes(p, {2, 1, 2, 3, 1, 2, 3});  // Dimension changes.
  EXPECT_EQ(read_ivecs(p).status().code(), absl::StatusCode::kDataLoss);
  write_bytes(p, {-1, 1});  // Non-positive dimension.
  EXPECT_EQ(read_ivecs(p).status().code(), absl::StatusCode::kDataLoss);
  write_bytes(p, {2, 1, 2, 2}, /*cut=*/2);  // Truncated header.
  EXPECT_EQ(read_ivecs(p).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(read_ivecs(dir.path() / "missing.ivecs").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace meridian::index::testing
