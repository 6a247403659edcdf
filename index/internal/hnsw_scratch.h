// Per-thread working memory of HNSW searches and inserts: an epoch-stamped visited set and the
// candidate buffers, reused across calls so that the search loop never allocates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/top_k.h"

namespace meridian::index::internal {

// Visited set over node ids: a node is visited when its stamp equals the current epoch, so
// starting a new search costs one increment (a full clear every 65535 searches).
class VisitedSet {
 public:
  // Starts a new search over node ids in [0, nodes).
  void begin(size_t nodes) {
    if (stamps_.size() < nodes) stamps_.resize(std::max(nodes, stamps_.size() * 3 / 2), 0);
    if (++epoch_ == 0) {
      std::fill(stamps_.begin(), stamps_.end(), 0);
      epoch_ = 1;
    }
  }
  // Marks `node`; true when it was not yet visited in this search.
  bool insert(uint32_t node) {
    if (stamps_[node] == epoch_) return false;
    stamps_[node] = epoch_;
    return true;
  }
  const uint16_t* stamp_address(uint32_t node) const { return stamps_.data() + node; }
  size_t memory_bytes() const { return stamps_.capacity() * sizeof(uint16_t); }

 private:
  std::vector<uint16_t> stamps_;
  uint16_t epoch_ = 0;
};

// Candidate as stored in the heaps: distance (lower is better) and node id.
struct HnswCandidate {
  float distance;
  uint32_t node;
};

// Heap orders: std::*_heap keep the "largest" element under the comparator at the front.
struct FarthestFirst {
  bool operator()(const HnswCandidate& a, const HnswCandidate& b) const {
    return a.distance < b.distance;
  }
};
struct ClosestFirst {
  bool operator()(const HnswCandidate& a, const HnswCandidate& b) const {
    return a.distance > b.distance;
  }
};

struct HnswScratch {
  VisitedSet visited;
  std::vector<HnswCandidate> candidates;  // Min-heap: closest unexpanded node at the front.
  std::vector<HnswCandidate> results;     // Max-heap of at most ef: farthest kept at the front.
  std::vector<uint32_t> fresh;            // Unvisited neighbours of the node being expanded.
  std::vector<uint32_t> link_copy;        // A neighbour list copied under its node's lock.
  std::vector<HnswCandidate> sorted;      // Candidates by ascending distance (heuristic input).
  std::vector<HnswCandidate> selected;    // Heuristic output.
  std::vector<float> query;               // The normalised query under kCosine.
  std::vector<float> prepared;            // The query combined with the SQ8 ranges under kSq8.
  TopK top{1, false};

  size_t memory_bytes() const {
    return visited.memory_bytes() +
           (candidates.capacity() + results.capacity() + sorted.capacity() + selected.capacity()) *
               sizeof(HnswCandidate) +
           (fresh.capacity() + link_copy.capacity()) * sizeof(uint32_t) +
           (query.capacity() + prepared.capacity()) * sizeof(float);
  }
};

}  // namespace meridian::index::internal
