// Binary max-heap of the worst kept candidate, written out so the comparison and the
// tie-break stay in one place.
#include "index/top_k.h"

#include <algorithm>

namespace meridian::index {

TopK::TopK(size_t k, bool higher_is_better) : k_(k), higher_is_better_(higher_is_better) {
  heap_.reserve(k);
}

void TopK::reset(size_t k) {
  k_ = k;
  heap_.clear();
  heap_.reserve(k);
}

void TopK::push_many(const uint64_t* labels, const float* scores, size_t n) {
  size_t j = 0;
  for (; j < n && heap_.size() < k_; ++j) push(labels[j], scores[j]);
  if (j == n || k_ == 0) return;
  if (higher_is_better_) {
    push_many_full<true>(labels + j, scores + j, n - j);
  } else {
    push_many_full<false>(labels + j, scores + j, n - j);
  }
}

template <bool kHigherIsBetter>
void TopK::push_many_full(const uint64_t* labels, const float* scores, size_t n) {
  float worst = heap_.front().key;
  for (size_t j = 0; j < n; ++j) {
    const float key = kHigherIsBetter ? -scores[j] : scores[j];
    // `<=` lets equal keys through to push's label tie-break; NaN fails it, as in push.
    if (key <= worst) {
      push(labels[j], scores[j]);
      worst = heap_.front().key;
    }
  }
}

void TopK::insert(const Entry& e) {
  size_t i = heap_.size();
  heap_.push_back(e);  // Within the reserved capacity: does not allocate.
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!worse(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

void TopK::replace_worst(const Entry& e) {
  const size_t n = heap_.size();
  size_t i = 0;
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && worse(heap_[child + 1], heap_[child])) ++child;
    if (!worse(heap_[child], e)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = e;
}

void TopK::take_sorted(std::vector<Neighbor>& out) {
  std::sort(heap_.begin(), heap_.end(), [](const Entry& a, const Entry& b) { return worse(b, a); });
  out.clear();
  out.reserve(heap_.size());
  for (const Entry& e : heap_) out.push_back({e.label, e.score});
  heap_.clear();
}

}  // namespace meridian::index
