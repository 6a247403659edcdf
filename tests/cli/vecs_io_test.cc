// Tests of fvecs/ivecs reading and writing, including every kind of corrupt file.
#include "cli/vecs_io.h"

#include <fstream>

#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

using ::meridian::testing::TempDir;
using ::testing::HasSubstr;

void write_raw(const std::filesystem::path& path, const std::vector<int32_t>& words) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(words.data()), words.size() * sizeof(int32_t));
}

int32_t float_bits(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

TEST(VecsIoTest, FvecsRoundTrip) {
  TempDir dir;
  const std::string path = dir.path() / "a.fvecs";
  FloatMatrix m{.dim = 3, .data = {1, 2, 3, -4.5f, 5e-7f, 6e30f}};
  MERIDIAN_ASSERT_OK(write_fvecs(path, m));
  EXPECT_EQ(std::filesystem::file_size(path), 2u * (4 + 3 * 4));
  auto read = read_fvecs(path);
  MERIDIAN_ASSERT_OK(read);
  EXPECT_EQ(read->dim, 3u);
  EXPECT_EQ(read->rows(), 2u);
  EXPECT_EQ(read->data, m.data);
}

TEST(VecsIoTest, IvecsRoundTrip) {
  TempDir dir;
  const std::string path = dir.path() / "a.ivecs";
  IntMatrix m{.dim = 2, .data = {1, -1, 7, 2147483647}};
  MERIDIAN_ASSERT_OK(write_ivecs(path, m));
  auto read = read_ivecs(path);
  MERIDIAN_ASSERT_OK(read);
  EXPECT_EQ(read->dim, 2u);
  EXPECT_EQ(read->data, m.data);
}

TEST(VecsIoTest, StreamingReaderReadsInChunks) {
  TempDir dir;
  const std::string path = dir.path() / "a.fvecs";
  FloatMatrix m{.dim = 1, .data = {0, 1, 2, 3, 4}};
  MERIDIAN_ASSERT_OK(write_fvecs(path, m));
  auto reader = FvecsReader::open(path);
  MERIDIAN_ASSERT_OK(reader);
  EXPECT_EQ((*reader)->rows(), 5u);
  std::vector<float> out;
  auto n = (*reader)->read(2, out);
  MERIDIAN_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);
  n = (*reader)->read(10, out);
  EXPECT_EQ(*n, 3u);
  n = (*reader)->read(10, out);
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(out, m.data);
}

TEST(VecsIoTest, EmptyFileHasNoRows) {
  TempDir dir;
  const std::string path = dir.path() / "empty.fvecs";
  write_raw(path, {});
  auto read = read_fvecs(path);
  MERIDIAN_ASSERT_OK(read);
  EXPECT_EQ(read->rows(), 0u);
}

TEST(VecsIoTest, TruncatedFileIsRejected) {
  TempDir dir;
  const std::string path = dir.path() / "t.fvecs";
  write_raw(path, {2, float_bits(1), float_bits(2), 2, float_bits(3)});  // last row cut short
  auto read = read_fvecs(path);
  MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("truncated"));
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(path));
}

TEST(VecsIoTest, TooShortForAHeaderIsRejected) {
  TempDir dir;
  const std::string path = dir.path() / "short.ivecs";
  std::ofstream(path, std::ios::binary) << "ab";
  MERIDIAN_EXPECT_CODE(read_ivecs(path), absl::StatusCode::kInvalidArgument);
}

TEST(VecsIoTest, InconsistentDimensionIsRejectedWithRowNumber) {
  TempDir dir;
  const std::string path = dir.path() / "d.ivecs";
  // Row 0: dim 2. Row 1 claims dim 1 but the size still divides evenly into dim-2 rows.
  write_raw(path, {2, 10, 11, 1, 12, 13});
  auto read = read_ivecs(path);
  MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("row 1 has dimension 1"));
}

TEST(VecsIoTest, BadFirstDimensionIsRejected) {
  TempDir dir;
  for (int32_t dim : {0, -3, 1 << 30}) {
    const std::string path = dir.path() / "bad.fvecs";
    write_raw(path, {dim, 1, 2, 3});
    auto read = read_fvecs(path);
    MERIDIAN_EXPECT_CODE(read, absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr("bad dimension"));
  }
}

TEST(VecsIoTest, MissingFileAndDirectoryAreErrors) {
  TempDir dir;
  MERIDIAN_EXPECT_CODE(read_fvecs(dir.path() / "nope.fvecs"), absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(read_fvecs(dir.path()), absl::StatusCode::kInvalidArgument);
  FloatMatrix m{.dim = 1, .data = {1}};
  MERIDIAN_EXPECT_CODE(write_fvecs(dir.path() / "no" / "such" / "dir.fvecs", m),
                       absl::StatusCode::kInvalidArgument);
}

TEST(VecsIoTest, WritingAMalformedMatrixIsAnError) {
  TempDir dir;
  MERIDIAN_EXPECT_CODE(write_fvecs(dir.path() / "x.fvecs", FloatMatrix{.dim = 0, .data = {}}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(write_ivecs(dir.path() / "x.ivecs", IntMatrix{.dim = 2, .data = {1, 2, 3}}),
                       absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::cli
