// Tests of the CLI's small output helpers: latency percentiles, point JSON, the progress bar.
#include <sstream>

#include "cli/latency_summary.h"
#include "cli/point_json.h"
#include "cli/progress_bar.h"
#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

TEST(LatencySummaryTest, NearestRankPercentiles) {
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);
  EXPECT_EQ(percentile(values, 50), 50);
  EXPECT_EQ(percentile(values, 95), 95);
  EXPECT_EQ(percentile(values, 99), 99);
  EXPECT_EQ(percentile(values, 100), 100);
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({}, 50), 0);
  LatencySummary s = summarize_latencies({1, 2, 3, 4});
  EXPECT_EQ(s.p50_ms, 2);
  EXPECT_EQ(s.p99_ms, 4);
}

TEST(PointJsonTest, NumericAndUuidIds) {
  client::PointData p{PointId::number(7), {0.1f, 1.0f, -2.5f}, R"({"b": 1, "a": "x"})"};
  EXPECT_EQ(point_to_json(p), R"({"id":7,"vector":[0.1,1,-2.5],"payload":{"a":"x","b":1}})");
  auto uuid = PointId::parse("123e4567-e89b-12d3-a456-426614174000");
  MERIDIAN_ASSERT_OK(uuid);
  EXPECT_EQ(point_to_json({*uuid, {}, ""}),
            R"({"id":"123e4567-e89b-12d3-a456-426614174000","vector":[]})");
}

TEST(ProgressBarTest, DisabledPrintsNothing) {
  std::ostringstream out;
  {
    ProgressBar bar(out, "x", 10, false);
    bar.update(5);
  }
  EXPECT_EQ(out.str(), "");
}

TEST(ProgressBarTest, EnabledRedrawsAndEndsTheLine) {
  std::ostringstream out;
  {
    ProgressBar bar(out, "importing", 4, true);
    bar.update(1);
    bar.update(1);  // no change, no redraw
    bar.update(3);  // 75%
    bar.update(4);
  }
  const std::string text = out.str();
  EXPECT_THAT(text, ::testing::HasSubstr("25%  1/4"));
  EXPECT_THAT(text, ::testing::HasSubstr("100%  4/4"));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 3);  // 25%, 75%, 100%
}

}  // namespace
}  // namespace meridian::cli
