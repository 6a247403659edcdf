// Tests of the input checks shared by the write and search paths.
#include "node/request_validation.h"

#include <cmath>

#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

TEST(RequestValidationTest, PayloadIsNormalisedOrRejected) {
  auto ok = normalize_payload(R"({ "b" : [1, 2], "a": "x" })", "p");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, R"({"a":"x","b":[1,2]})");
  EXPECT_EQ(*normalize_payload("", "p"), "");
  for (std::string bad : {"{", "42", "\"s\"", "null", "[]", "{\"a\":}"}) {
    MERIDIAN_EXPECT_CODE(normalize_payload(bad, "p"), absl::StatusCode::kInvalidArgument);
  }
  std::string big = "{\"a\":\"" + std::string(kMaxPayloadBytes, 'x') + "\"}";
  MERIDIAN_EXPECT_CODE(normalize_payload(big, "p"), absl::StatusCode::kInvalidArgument);
  // Brackets inside strings do not count as nesting.
  std::string brackets = "{\"a\":\"" + std::string(500, '[') + "\"}";
  EXPECT_TRUE(normalize_payload(brackets, "p").ok());
}

TEST(RequestValidationTest, VectorMessagesNameTheProblem) {
  CollectionConfig config{"c", 3, Metric::kL2, IndexKind::kFlat};
  std::vector<float> two = {1, 2};
  auto s = validate_vector(config, two, "point 0 (id 5)");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("dimension 2"));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("expects 3"));
  std::vector<float> nan = {1, std::nanf(""), 2};
  EXPECT_THAT(std::string(validate_vector(config, nan, "q").message()),
              ::testing::HasSubstr("NaN"));
  std::vector<float> zero = {0, 0, 0};
  MERIDIAN_EXPECT_OK(validate_vector(config, zero, "q"));
  config.metric = Metric::kCosine;
  MERIDIAN_EXPECT_CODE(validate_vector(config, zero, "q"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meridian::node
