// Tests of import sources: format detection, fvecs ids, non-finite values, option checks.
#include "cli/point_source.h"

#include <cmath>
#include <fstream>
#include <limits>

#include "cli/vecs_io.h"
#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

using ::meridian::testing::TempDir;
using ::testing::HasSubstr;

TEST(PointSourceTest, FormatFromExtension) {
  EXPECT_EQ(*point_file_format("a/b.fvecs"), PointFileFormat::kFvecs);
  EXPECT_EQ(*point_file_format("p.jsonl"), PointFileFormat::kJsonLines);
  EXPECT_EQ(*point_file_format("p.ndjson"), PointFileFormat::kJsonLines);
  MERIDIAN_EXPECT_CODE(point_file_format("p.csv"), absl::StatusCode::kInvalidArgument);
}

TEST(PointSourceTest, FvecsRowsGetConsecutiveIdsFromFirstId) {
  TempDir dir;
  const std::string path = dir.path() / "v.fvecs";
  MERIDIAN_ASSERT_OK(write_fvecs(path, FloatMatrix{.dim = 2, .data = {1, 2, 3, 4, 5, 6}}));
  auto source = open_point_source(path, 10, true);
  MERIDIAN_ASSERT_OK(source);
  std::vector<client::PointData> points;
  MERIDIAN_ASSERT_OK((*source)->read(2, points));
  MERIDIAN_ASSERT_OK((*source)->read(2, points));
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].id, PointId::number(10));
  EXPECT_EQ(points[2].id, PointId::number(12));
  EXPECT_EQ(points[2].vector, (std::vector<float>{5, 6}));
  EXPECT_TRUE(points[2].payload_json.empty());
}

TEST(PointSourceTest, FvecsNonFiniteValueIsRejectedWithRow) {
  TempDir dir;
  const std::string path = dir.path() / "v.fvecs";
  MERIDIAN_ASSERT_OK(write_fvecs(
      path, FloatMatrix{.dim = 2, .data = {1, 2, 3, std::numeric_limits<float>::quiet_NaN()}}));
  auto source = open_point_source(path, 0, false);
  MERIDIAN_ASSERT_OK(source);
  std::vector<client::PointData> points;
  auto n = (*source)->read(10, points);
  MERIDIAN_EXPECT_CODE(n, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("row 1"));
}

TEST(PointSourceTest, IdOverflowIsRejected) {
  TempDir dir;
  const std::string path = dir.path() / "v.fvecs";
  MERIDIAN_ASSERT_OK(write_fvecs(path, FloatMatrix{.dim = 1, .data = {1, 2}}));
  MERIDIAN_EXPECT_OK(open_point_source(path, std::numeric_limits<uint64_t>::max() - 1, true));
  MERIDIAN_EXPECT_CODE(open_point_source(path, std::numeric_limits<uint64_t>::max(), true),
                       absl::StatusCode::kInvalidArgument);
}

TEST(PointSourceTest, JsonLinesRejectFirstId) {
  TempDir dir;
  const std::string path = dir.path() / "p.jsonl";
  std::ofstream(path) << R"({"id": 1, "vector": [1]})"
                      << "\n";
  MERIDIAN_EXPECT_CODE(open_point_source(path, 5, true), absl::StatusCode::kInvalidArgument);
  auto source = open_point_source(path, 0, false);
  MERIDIAN_ASSERT_OK(source);
  std::vector<client::PointData> points;
  auto n = (*source)->read(10, points);
  MERIDIAN_ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
}

}  // namespace
}  // namespace meridian::cli
