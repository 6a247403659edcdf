// Tests of recall@k: plain overlap, short and padded rows, duplicates, ties, shape errors.
#include "cli/recall.h"

#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

TEST(RecallTest, PerfectAndPartial) {
  IntMatrix truth{.dim = 3, .data = {1, 2, 3, 4, 5, 6}};
  auto perfect = compute_recall(IntMatrix{.dim = 2, .data = {2, 1, 5, 4}}, truth, 2);
  MERIDIAN_ASSERT_OK(perfect);
  EXPECT_DOUBLE_EQ(*perfect, 1.0);
  // Query 0 finds 1 of {1, 2}; query 1 finds none of {4, 5} (6 is the 3rd, outside k = 2).
  auto partial = compute_recall(IntMatrix{.dim = 2, .data = {1, 3, 6, 9}}, truth, 2);
  MERIDIAN_ASSERT_OK(partial);
  EXPECT_DOUBLE_EQ(*partial, 0.25);
}

TEST(RecallTest, ResultsMayCoverAPrefixOfTheQueries) {
  IntMatrix truth{.dim = 1, .data = {1, 2, 3}};
  auto r = compute_recall(IntMatrix{.dim = 1, .data = {1, 9}}, truth, 1);
  MERIDIAN_ASSERT_OK(r);
  EXPECT_DOUBLE_EQ(*r, 0.5);
}

TEST(RecallTest, OnlyTheFirstKResultsCount) {
  IntMatrix truth{.dim = 2, .data = {1, 2}};
  auto r = compute_recall(IntMatrix{.dim = 3, .data = {9, 1, 2}}, truth, 2);
  MERIDIAN_ASSERT_OK(r);
  EXPECT_DOUBLE_EQ(*r, 0.5);
}

TEST(RecallTest, ShortRowsPaddingAndDuplicatesAreMisses) {
  IntMatrix truth{.dim = 2, .data = {1, 2, 3, 4}};
  auto short_rows = compute_recall(IntMatrix{.dim = 1, .data = {1, 3}}, truth, 2);
  MERIDIAN_ASSERT_OK(short_rows);
  EXPECT_DOUBLE_EQ(*short_rows, 0.5);
  auto padded = compute_recall(IntMatrix{.dim = 2, .data = {1, -1, 1, 1}}, truth, 2);
  MERIDIAN_ASSERT_OK(padded);
  EXPECT_DOUBLE_EQ(*padded, 0.25);
}

TEST(RecallTest, TiesWithinTheToleranceCount) {
  // True top-2 of the only query: ids 1 (distance 1) and 2 (distance 2); id 7 also lies at 2.
  IntMatrix truth{.dim = 3, .data = {1, 2, 7}};
  FloatMatrix truth_dist{.dim = 3, .data = {1, 2, 2}};
  IntMatrix results{.dim = 2, .data = {1, 7}};
  auto plain = compute_recall(results, truth, 2);
  MERIDIAN_ASSERT_OK(plain);
  EXPECT_DOUBLE_EQ(*plain, 0.5);
  auto tied = compute_tie_tolerant_recall(results, truth, 2, FloatMatrix{.dim = 2, .data = {1, 2}},
                                          truth_dist);
  MERIDIAN_ASSERT_OK(tied);
  EXPECT_DOUBLE_EQ(*tied, 1.0);
  // Within the float32 slack: 2 * (1 + 1e-6) + 1e-6.
  auto slack = compute_tie_tolerant_recall(
      results, truth, 2, FloatMatrix{.dim = 2, .data = {1, 2.000002f}}, truth_dist);
  EXPECT_DOUBLE_EQ(*slack, 1.0);
  // Clearly farther is a miss.
  auto farther = compute_tie_tolerant_recall(results, truth, 2,
                                             FloatMatrix{.dim = 2, .data = {1, 2.01f}}, truth_dist);
  MERIDIAN_ASSERT_OK(farther);
  EXPECT_DOUBLE_EQ(*farther, 0.5);
}

TEST(RecallTest, TieToleranceIgnoresPaddingAndDuplicates) {
  IntMatrix truth{.dim = 2, .data = {1, 2}};
  FloatMatrix truth_dist{.dim = 2, .data = {1, 2}};
  auto r = compute_tie_tolerant_recall(IntMatrix{.dim = 2, .data = {1, 1}}, truth, 2,
                                       FloatMatrix{.dim = 2, .data = {1, 1}}, truth_dist);
  MERIDIAN_ASSERT_OK(r);
  EXPECT_DOUBLE_EQ(*r, 0.5);
}

TEST(RecallTest, ShapeErrors) {
  IntMatrix truth{.dim = 2, .data = {1, 2}};
  MERIDIAN_EXPECT_CODE(compute_recall(IntMatrix{.dim = 2, .data = {1, 2, 3, 4}}, truth, 2),
                       absl::StatusCode::kInvalidArgument);  // more rows than the ground truth
  MERIDIAN_EXPECT_CODE(compute_recall(IntMatrix{.dim = 2, .data = {}}, truth, 2),
                       absl::StatusCode::kInvalidArgument);  // no results
  MERIDIAN_EXPECT_CODE(compute_recall(IntMatrix{.dim = 2, .data = {1, 2}}, truth, 3),
                       absl::StatusCode::kInvalidArgument);  // k beyond the ground truth
  MERIDIAN_EXPECT_CODE(compute_recall(IntMatrix{.dim = 2, .data = {1, 2}}, truth, 0),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(compute_tie_tolerant_recall(IntMatrix{.dim = 2, .data = {1, 2}}, truth, 2,
                                                   FloatMatrix{.dim = 1, .data = {1}},
                                                   FloatMatrix{.dim = 2, .data = {1, 2}}),
                       absl::StatusCode::kInvalidArgument);
  MERIDIAN_EXPECT_CODE(compute_tie_tolerant_recall(IntMatrix{.dim = 2, .data = {1, 2}}, truth, 2,
                                                   FloatMatrix{.dim = 2, .data = {1, 2}},
                                                   FloatMatrix{.dim = 1, .data = {1}}),
                       absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::cli
