// Tests of JSON Lines point parsing: accepted shapes, every rejected one, line numbers.
#include "cli/jsonl_points.h"

#include <fstream>

#include "tests/support/test_support.h"

namespace meridian::cli {
namespace {

using ::meridian::testing::TempDir;
using ::testing::HasSubstr;

TEST(JsonlPointsTest, NumericIdVectorAndPayload) {
  auto p =
      parse_point_json(R"({"id": 7, "vector": [1, -2.5, 3e-3], "payload": {"b": [1], "a": "x"}})");
  MERIDIAN_ASSERT_OK(p);
  EXPECT_EQ(p->id, PointId::number(7));
  EXPECT_EQ(p->vector, (std::vector<float>{1, -2.5f, 3e-3f}));
  EXPECT_EQ(p->payload_json, R"({"a":"x","b":[1]})");
}

TEST(JsonlPointsTest, LargestNumericId) {
  auto p = parse_point_json(R"({"id": 18446744073709551615, "vector": [1]})");
  MERIDIAN_ASSERT_OK(p);
  EXPECT_EQ(p->id, PointId::number(18446744073709551615ull));
  EXPECT_EQ(p->payload_json, "");
}

TEST(JsonlPointsTest, UuidAndDecimalStringIds) {
  auto uuid = parse_point_json(R"({"id": "123E4567-e89b-12d3-a456-426614174000", "vector": [1]})");
  MERIDIAN_ASSERT_OK(uuid);
  EXPECT_FALSE(uuid->id.is_number());
  EXPECT_EQ(uuid->id.to_string(), "123e4567-e89b-12d3-a456-426614174000");
  auto decimal = parse_point_json(R"({"id": "42", "vector": [1], "payload": null})");
  MERIDIAN_ASSERT_OK(decimal);
  EXPECT_EQ(decimal->id, PointId::number(42));
}

TEST(JsonlPointsTest, RejectsBadRecords) {
  const char* bad[] = {
      R"({"id": -1, "vector": [1]})",                 // negative id
      R"({"id": 1.5, "vector": [1]})",                // fractional id
      R"({"id": "not-a-uuid", "vector": [1]})",       // bad string id
      R"({"id": 1})",                                 // no vector
      R"({"vector": [1]})",                           // no id
      R"({"id": 1, "vector": []})",                   // empty vector
      R"({"id": 1, "vector": [1, "2"]})",             // non-number element
      R"({"id": 1, "vector": 3})",                    // not an array
      R"({"id": 1, "vector": [1e39]})",               // overflows float32
      R"({"id": 1, "vector": [NaN]})",                // not JSON
      R"({"id": 1, "vector": [1], "payload": [1]})",  // payload not an object
      R"({"id": 1, "vector": [1], "vectors": [1]})",  // unknown key
      R"([1, 2])",                                    // not an object
      R"({"id": 1, "vector": [1])",                   // truncated
  };
  for (const char* line : bad) {
    MERIDIAN_EXPECT_CODE(parse_point_json(line), absl::StatusCode::kInvalidArgument);
  }
}

TEST(JsonlPointsTest, ReaderReportsLineNumbersAndSkipsBlankLines) {
  TempDir dir;
  const std::string path = dir.path() / "p.jsonl";
  std::ofstream(path) << R"({"id": 1, "vector": [1, 2]})"
                      << "\n\n   \n"
                      << R"({"id": 2, "vector": [3, 4]})"
                      << "\n"
                      << R"({"id": 3, "vector": [5, 6, 7]})"
                      << "\n";
  auto reader = JsonlPointReader::open(path);
  MERIDIAN_ASSERT_OK(reader);
  std::vector<client::PointData> points;
  auto n = (*reader)->read(2, points);
  MERIDIAN_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ((*reader)->dim(), 2u);
  auto bad = (*reader)->read(2, points);
  MERIDIAN_EXPECT_CODE(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr(path + ":5:"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("dimension 3, expected 2"));
}

TEST(JsonlPointsTest, ReaderNamesTheBadLine) {
  TempDir dir;
  const std::string path = dir.path() / "p.jsonl";
  std::ofstream(path) << R"({"id": 1, "vector": [1]})"
                      << "\n"
                      << "{oops\n";
  auto reader = JsonlPointReader::open(path);
  MERIDIAN_ASSERT_OK(reader);
  std::vector<client::PointData> points;
  auto bad = (*reader)->read(10, points);
  MERIDIAN_EXPECT_CODE(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr(":2: not valid JSON"));
  MERIDIAN_EXPECT_CODE(JsonlPointReader::open(dir.path() / "missing.jsonl"),
                       absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::cli
