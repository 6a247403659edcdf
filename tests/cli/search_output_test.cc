// Tests of result-row conversion: score to distance per metric, padding, unwritable ids.
#include "cli/search_output.h"

#include <cmath>

#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

TEST(SearchOutputTest, ScoreToDistance) {
  EXPECT_EQ(score_to_distance(Metric::kL2, 2.5f), 2.5f);
  EXPECT_FLOAT_EQ(score_to_distance(Metric::kCosine, 0.75f), 0.25f);
  EXPECT_EQ(score_to_distance(Metric::kDot, 3.0f), -3.0f);
}

TEST(SearchOutputTest, RowsArePaddedToK) {
  client::SearchResults results = {
      {{PointId::number(4), 0.9f, {}, ""}, {PointId::number(2), 0.5f, {}, ""}}, {}};
  IntMatrix ids{.dim = 3, .data = {}};
  FloatMatrix distances{.dim = 3, .data = {}};
  MERIDIAN_ASSERT_OK(append_result_rows(results, Metric::kCosine, 3, ids, distances));
  EXPECT_EQ(ids.data, (std::vector<int32_t>{4, 2, -1, -1, -1, -1}));
  EXPECT_FLOAT_EQ(distances.data[0], 0.1f);
  EXPECT_FLOAT_EQ(distances.data[1], 0.5f);
  EXPECT_TRUE(std::isinf(distances.data[2]));
}

TEST(SearchOutputTest, UuidAndHugeIdsCannotBeWritten) {
  auto uuid = PointId::parse("123e4567-e89b-12d3-a456-426614174000");
  MERIDIAN_ASSERT_OK(uuid);
  IntMatrix ids{.dim = 1, .data = {}};
  FloatMatrix distances{.dim = 1, .data = {}};
  auto status = append_result_rows({{{*uuid, 1, {}, ""}}}, Metric::kL2, 1, ids, distances);
  MERIDIAN_EXPECT_CODE(status, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("123e4567"));
  MERIDIAN_EXPECT_CODE(append_result_rows({{{PointId::number(1ull << 31), 1, {}, ""}}}, Metric::kL2,
                                          1, ids, distances),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_OK(append_result_rows({{{PointId::number((1ull << 31) - 1), 1, {}, ""}}},
                                        Metric::kL2, 1, ids, distances));
}

}  // namespace
}  // namespace meridian::cli
