// Tests of payload filters: parsing (valid and invalid JSON), evaluation semantics, and the
// in-memory PayloadIndex that evaluates them per label.
#include "node/payload_filter.h"

#include <map>

#include "node/payload_index.h"
#include "tests/support/test_support.h"

namespace meridian::node {
namespace {

using Fields = std::map<std::string, std::vector<PayloadValue>, std::less<>>;

bool eval(const std::string& filter_json, const Fields& fields) {
  auto filter = parse_payload_filter(filter_json);
  EXPECT_TRUE(filter.ok()) << filter.status();
  if (!filter.ok()) return false;
  return filter_matches(*filter, [&](std::string_view key) -> std::span<const PayloadValue> {
    auto it = fields.find(key);
    if (it == fields.end()) return {};
    return it->second;
  });
}

TEST(PayloadFilterParseTest, AcceptsTheDocumentedForms) {
  auto f = parse_payload_filter(
      R"({"must":[{"key":"color","match":{"value":"red"}},{"key":"year","range":{"gte":2000,"lt":2010}}],
          "should":[{"key":"n","match":{"any":[1,2,3]}}, {"must":[{"key":"b","match":{"value":true}}]}],
          "must_not":[{"key":"tag","match":{"any":["x","y"]}}]})");
  MERIDIAN_ASSERT_OK(f.status());
  ASSERT_EQ(f->must.size(), 2u);
  EXPECT_EQ(f->must[0].key, "color");
  EXPECT_EQ(f->must[0].match_any, std::vector<PayloadValue>{PayloadValue(std::string("red"))});
  EXPECT_TRUE(f->must[1].is_range);
  EXPECT_EQ(f->must[1].range.gte, 2000.0);
  EXPECT_EQ(f->must[1].range.lt, 2010.0);
  ASSERT_EQ(f->should.size(), 2u);
  EXPECT_EQ(f->should[0].match_any.size(), 3u);
  ASSERT_EQ(f->should[1].nested.size(), 1u);
  EXPECT_EQ(f->must_not[0].match_any.size(), 2u);
  auto empty = parse_payload_filter("{}");
  MERIDIAN_ASSERT_OK(empty.status());
  EXPECT_TRUE(empty->must.empty() && empty->should.empty() && empty->must_not.empty());
}

TEST(PayloadFilterParseTest, RejectsMalformedFiltersWithAClearMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"mustt":[]})", "unknown key \"mustt\""},
      {R"({"must":{}})", "must be an array"},
      {R"({"must":[1]})", "a condition must be a JSON object"},
      {R"({"must":[{"key":"a"}]})", "exactly one of \"match\" or \"range\""},
      {R"({"must":[{"key":"a","match":{"value":1},"range":{"gt":1}}]})", "exactly one of"},
      {R"({"must":[{"key":"a","match":{"value":1.5}}]})", "string, an integer or a boolean"},
      {R"({"must":[{"key":"a","match":{"value":null}}]})", "string, an integer or a boolean"},
      {R"({"must":[{"key":"a","match":{"valu":1}}]})", "unknown key \"valu\""},
      {R"({"must":[{"key":"a","match":{"any":"x"}}]})", "must be an array"},
      {R"({"must":[{"key":"a","range":{}}]})", "at least one of gt"},
      {R"({"must":[{"key":"a","range":{"gt":"1"}}]})", "must be a number"},
      {R"({"must":[{"key":"a","range":{"above":1}}]})", "unknown range bound"},
      {R"({"must":[{"key":"","match":{"value":1}}]})", "non-empty string"},
      {R"({"must":[{"key":"a","match":{"value":1},"extra":1}]})", "unknown key \"extra\""},
  };
  for (const auto& [json, message] : cases) {
    auto f = parse_payload_filter(json);
    ASSERT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(f.status().message()), ::testing::HasSubstr(message)) << json;
  }
  std::string deep = "{}";
  for (int i = 0; i < kMaxFilterDepth + 2; ++i) deep = R"({"must":[)" + deep + "]}";
  EXPECT_EQ(parse_payload_filter(deep).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_payload_filter(std::string(kMaxFilterBytes + 1, ' ')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PayloadFilterEvalTest, MustShouldMustNot) {
  Fields red{{"color", {PayloadValue(std::string("red"))}}, {"n", {PayloadValue(int64_t{2})}}};
  EXPECT_TRUE(eval("{}", red));
  EXPECT_TRUE(eval(R"({"must":[{"key":"color","match":{"value":"red"}}]})", red));
  EXPECT_FALSE(eval(R"({"must":[{"key":"color","match":{"value":"blue"}}]})", red));
  EXPECT_FALSE(eval(R"({"must":[{"key":"color","match":{"value":"red"}},
                                {"key":"n","match":{"value":3}}]})",
                    red));
  EXPECT_TRUE(eval(R"({"should":[{"key":"color","match":{"value":"blue"}},
                                 {"key":"n","match":{"value":2}}]})",
                   red));
  EXPECT_FALSE(eval(R"({"should":[{"key":"color","match":{"value":"blue"}}]})", red));
  EXPECT_FALSE(eval(R"({"must_not":[{"key":"n","match":{"any":[1,2]}}]})", red));
  EXPECT_TRUE(eval(R"({"must_not":[{"key":"n","match":{"any":[5,6]}}]})", red));
  EXPECT_TRUE(eval(R"({"must":[{"should":[{"key":"n","match":{"value":2}}]}]})", red));
  EXPECT_FALSE(eval(R"({"must_not":[{"must":[{"key":"n","match":{"value":2}}]}]})", red));
  EXPECT_FALSE(eval(R"({"must":[{"key":"n","match":{"any":[]}}]})", red));
}

TEST(PayloadFilterEvalTest, RangeBoundsMissingFieldsAndTypes) {
  Fields p{{"x", {PayloadValue(int64_t{10})}},
           {"f", {PayloadValue(2.5)}},
           {"s", {PayloadValue(std::string("10"))}},
           {"b", {PayloadValue(true)}},
           {"tags", {PayloadValue(std::string("a")), PayloadValue(std::string("b"))}}};
  EXPECT_TRUE(eval(R"({"must":[{"key":"x","range":{"gte":10,"lte":10}}]})", p));
  EXPECT_FALSE(eval(R"({"must":[{"key":"x","range":{"gt":10}}]})", p));
  EXPECT_FALSE(eval(R"({"must":[{"key":"x","range":{"lt":10}}]})", p));
  EXPECT_TRUE(eval(R"({"must":[{"key":"f","range":{"gt":2,"lt":3}}]})", p));
  EXPECT_FALSE(eval(R"({"must":[{"key":"s","range":{"gte":0}}]})", p));  // keyword: no range
  // Type mismatch never matches: "10" is not 10, 1 is not true.
  EXPECT_FALSE(eval(R"({"must":[{"key":"s","match":{"value":10}}]})", p));
  EXPECT_FALSE(eval(R"({"must":[{"key":"x","match":{"value":"10"}}]})", p));
  EXPECT_FALSE(eval(R"({"must":[{"key":"b","match":{"value":1}}]})", p));
  EXPECT_TRUE(eval(R"({"must":[{"key":"b","match":{"value":true}}]})", p));
  // Missing fields satisfy no condition, so must_not of them holds.
  EXPECT_FALSE(eval(R"({"must":[{"key":"nope","match":{"value":1}}]})", p));
  EXPECT_FALSE(eval(R"({"must":[{"key":"nope","range":{"gt":0}}]})", p));
  EXPECT_TRUE(eval(R"({"must_not":[{"key":"nope","match":{"value":1}}]})", p));
  // Arrays match when an element does.
  EXPECT_TRUE(eval(R"({"must":[{"key":"tags","match":{"value":"b"}}]})", p));
  EXPECT_TRUE(eval(R"({"must":[{"key":"tags","match":{"any":["z","a"]}}]})", p));
}

TEST(PayloadIndexTest, KeepsScalarsAndArraysAndFollowsUpdates) {
  PayloadIndex index;
  index.put(1, R"({"color":"red","n":3,"tags":["a",1,{"o":1}],"obj":{"color":"red"},"z":null})");
  index.put(2, R"({"color":"blue","n":4.5})");
  index.put(3, "");
  auto filter = [](const char* json) { return *parse_payload_filter(json); };
  EXPECT_TRUE(index.matches(1, filter(R"({"must":[{"key":"color","match":{"value":"red"}}]})")));
  EXPECT_TRUE(index.matches(1, filter(R"({"must":[{"key":"tags","match":{"value":1}}]})")));
  EXPECT_FALSE(index.matches(1, filter(R"({"must":[{"key":"obj","match":{"value":"red"}}]})")));
  EXPECT_TRUE(index.matches(2, filter(R"({"must":[{"key":"n","range":{"gt":4}}]})")));
  EXPECT_TRUE(index.matches(3, filter("{}")));
  EXPECT_FALSE(index.matches(3, filter(R"({"must":[{"key":"n","range":{"gt":0}}]})")));
  const std::vector<uint64_t> labels = {1, 2, 3, 4};
  EXPECT_EQ(index.matching(labels, filter(R"({"must":[{"key":"n","range":{"gte":3}}]})")),
            (std::vector<uint64_t>{1, 2}));
  index.put(1, R"({"color":"green"})");
  EXPECT_FALSE(index.matches(1, filter(R"({"must":[{"key":"color","match":{"value":"red"}}]})")));
  index.erase(2);
  EXPECT_FALSE(index.matches(2, filter(R"({"must":[{"key":"n","range":{"gt":4}}]})")));
}

}  // namespace
}  // namespace meridian::node
