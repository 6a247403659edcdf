// TopK against a full sort of all candidates, in both directions, with ties and NaN.
#include "index/top_k.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tests/support/test_support.h"

namespace meridian::index {
namespace {

// The oracle: sort everything (best first, ties by label), keep k.
std::vector<Neighbor> sorted_oracle(std::vector<Neighbor> all, size_t k, bool higher_is_better) {
  auto rank = [&](float s) {
    if (std::isnan(s)) return std::numeric_limits<float>::infinity();
    return higher_is_better ? -s : s;
  };
  std::sort(all.begin(), all.end(), [&](const Neighbor& a, const Neighbor& b) {
    const float ra = rank(a.score), rb = rank(b.score);
    return ra < rb || (ra == rb && a.label < b.label);
  });
  all.resize(std::min(k, all.size()));
  return all;
}

std::vector<Neighbor> select(const std::vector<Neighbor>& all, size_t k, bool higher_is_better) {
  TopK top(k, higher_is_better);
  for (const Neighbor& n : all) top.push(n.label, n.score);
  std::vector<Neighbor> out;
  top.take_sorted(out);
  return out;
}

// Equality that treats two NaN scores as equal.
void expect_same(const std::vector<Neighbor>& got, const std::vector<Neighbor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].label, want[i].label) << i;
    if (!(std::isnan(got[i].score) && std::isnan(want[i].score))) {
      EXPECT_EQ(got[i].score, want[i].score) << i;
    }
  }
}

TEST(TopKTest, KeepsBestInBothDirections) {
  const std::vector<Neighbor> all = {{5, 3.0f}, {1, 1.0f}, {9, 2.0f}, {4, 5.0f}, {7, 4.0f}};
  expect_same(select(all, 2, false), {{1, 1.0f}, {9, 2.0f}});
  expect_same(select(all, 2, true), {{4, 5.0f}, {7, 4.0f}});
  expect_same(select(all, 10, false), sorted_oracle(all, 10, false));
}

TEST(TopKTest, TiesBreakBySmallerLabelWhateverThePushOrder) {
  std::vector<Neighbor> all;
  for (uint64_t label : {40u, 3u, 17u, 8u, 25u, 1u}) all.push_back({label, 1.0f});
  expect_same(select(all, 3, false), {{1, 1.0f}, {3, 1.0f}, {8, 1.0f}});
  std::reverse(all.begin(), all.end());
  expect_same(select(all, 3, true), {{1, 1.0f}, {3, 1.0f}, {8, 1.0f}});
}

TEST(TopKTest, NanRanksLast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<Neighbor> all = {{1, nan}, {2, 7.0f}, {3, nan}, {4, -1.0f}};
  expect_same(select(all, 3, false), {{4, -1.0f}, {2, 7.0f}, {1, nan}});
  expect_same(select(all, 3, true), {{2, 7.0f}, {4, -1.0f}, {1, nan}});
}

TEST(TopKTest, ZeroCapacityAndReuse) {
  TopK top(0, false);
  top.push(1, 1.0f);
  EXPECT_EQ(top.size(), 0u);
  top.reset(2);
  top.push(3, 3.0f);
  top.push(1, 1.0f);
  top.push(2, 2.0f);
  std::vector<Neighbor> out;
  top.take_sorted(out);
  expect_same(out, {{1, 1.0f}, {2, 2.0f}});
  EXPECT_EQ(top.size(), 0u);
  top.push(9, 0.5f);  // Reusable after take_sorted, same capacity.
  top.take_sorted(out);
  expect_same(out, {{9, 0.5f}});
}

RC_GTEST_PROP(TopKProperty, MatchesFullSort, (bool higher_is_better)) {
  const size_t k = *rc::gen::inRange<size_t>(0, 40);
  // Few distinct scores and labels from a small range: many ties, some duplicate labels.
  const auto all = *rc::gen::container<std::vector<Neighbor>>(rc::gen::build<Neighbor>(
      rc::gen::set(&Neighbor::label, rc::gen::inRange<uint64_t>(0, 1000)),
      rc::gen::set(&Neighbor::score,
                   rc::gen::map(rc::gen::inRange(-20, 20), [](int i) { return i * 0.5f; }))));
  const std::vector<Neighbor> got = select(all, k, higher_is_better);
  RC_ASSERT(got == sorted_oracle(all, k, higher_is_better));
}

RC_GTEST_PROP(TopKProperty, PushManyEqualsRepeatedPush, (bool higher_is_better)) {
  const size_t k = *rc::gen::inRange<size_t>(0, 20);
  const auto all = *rc::gen::container<std::vector<Neighbor>>(rc::gen::build<Neighbor>(
      rc::gen::set(&Neighbor::label, rc::gen::inRange<uint64_t>(0, 100)),
      rc::gen::set(&Neighbor::score,
                   rc::gen::map(rc::gen::inRange(-10, 10), [](int i) { return i * 0.5f; }))));
  std::vector<uint64_t> labels;
  std::vector<float> scores;
  for (const Neighbor& n : all) {
    labels.push_back(n.label);
    scores.push_back(n.score);
  }
  TopK top(k, higher_is_better);
  const size_t half = all.size() / 2;  // Two calls: the second starts on a full heap.
  top.push_many(labels.data(), scores.data(), half);
  top.push_many(labels.data() + half, scores.data() + half, all.size() - half);
  std::vector<Neighbor> got;
  top.take_sorted(got);
  RC_ASSERT(got == select(all, k, higher_is_better));
}

TEST(TopKTest, PushManySkipsNanLikePush) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<uint64_t> labels = {1, 2, 3, 4};
  const std::vector<float> scores = {2.0f, 1.0f, nan, 0.5f};
  TopK top(2, false);
  top.push_many(labels.data(), scores.data(), labels.size());
  std::vector<Neighbor> out;
  top.take_sorted(out);
  expect_same(out, {{4, 0.5f}, {2, 1.0f}});
}

}  // namespace
}  // namespace meridian::index
