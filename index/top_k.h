// Bounded top-k selection over (label, score) candidates, reused across queries without
// allocating per candidate.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace meridian::index {

// One search result: a stored vector's label and its score under the index's metric.
struct Neighbor {
  uint64_t label;
  float score;

  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// Keeps the k best candidates pushed since the last reset. "Best" follows the metric's direction
// (higher or lower score); equal scores are ordered by smaller label, so the result does not depend
// on push order. NaN scores rank after every other score. Memory is allocated only when the
// capacity k grows (constructor, reset); push never allocates. Not thread-safe.
class TopK {
 public:
  TopK(size_t k, bool higher_is_better);

  // Empties the selector and sets its capacity to `k`, keeping the direction.
  void reset(size_t k);
  void reset() { reset(k_); }

  // Offers one candidate; O(1) when it does not beat the current k-th best, else O(log k).
  void push(uint64_t label, float score) {
    float key = higher_is_better_ ? -score : score;  // Lower key is better.
    if (heap_.size() == k_) {
      if (k_ == 0) return;
      const Entry& worst = heap_.front();
      // Also rejects NaN: both comparisons are false.
      if (key < worst.key || (key == worst.key && label < worst.label)) {
        replace_worst({key, score, label});
      }
      return;
    }
    insert({std::isnan(key) ? kNanKey : key, score, label});
  }

  // Same as push(labels[j], scores[j]) for j in [0, n), faster: once full, a candidate costs one
  // comparison against a threshold held in a register.
  void push_many(const uint64_t* labels, const float* scores, size_t n);

  size_t size() const { return heap_.size(); }
  size_t k() const { return k_; }

  // Replaces the contents of `out` with the kept candidates, best first, and empties the selector.
  void take_sorted(std::vector<Neighbor>& out);

 private:
  struct Entry {
    float key;  // Score oriented so that lower is better; NaN mapped to kNanKey.
    float score;
    uint64_t label;
  };
  static constexpr float kNanKey = __builtin_huge_valf();

  // True when `a` ranks strictly after `b` (a is worse).
  static bool worse(const Entry& a, const Entry& b) {
    return a.key > b.key || (a.key == b.key && a.label > b.label);
  }
  template <bool kHigherIsBetter>
  void push_many_full(const uint64_t* labels, const float* scores, size_t n);
  void insert(const Entry& e);
  void replace_worst(const Entry& e);

  size_t k_;
  bool higher_is_better_;
  std::vector<Entry> heap_;  // Max-heap under worse(): the worst kept entry at the front.
};

}  // namespace meridian::index
