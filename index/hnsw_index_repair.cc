// HnswIndex::repair_reachability: links back into the level-0 graph the live nodes that a walk
// from the entry point no longer reaches, after a build.
//
// Why a pass after the build rather than a guarantee inside pruning: a node loses its incoming
// links only when every neighbour that linked back to it later re-selects its full list with the
// heuristic and drops it. Even a single-threaded build at a low ef_construction leaves a few such
// nodes (about 4 in 20000 random points at ef_construction 48). hnswlib keeps them; FAISS can
// refill pruned level-0 lists to capacity (keep_max_size_level0, there for its CAGRA export),
// which keeps more back-links but guarantees none; Lucene added a connect-the-components pass to
// its builder (apache/lucene#13566) and later took the fixing part out again over its worst-case
// cost. Guaranteeing a reverse link while pruning would need every node's in-degree kept exact
// under the concurrent build's per-node locks, and would bend the heuristic's choice for every
// pruned list. Here the orphans are a few hundredths of a percent of the nodes at usual
// settings (a few percent for high-dimensional noise at ef_construction 16), and the cost is
// bounded: per round one breadth-first walk plus one insert-like search per node still
// unreachable, at most kMaxRepairRounds rounds; every other list stays as the paper's algorithm
// made it.
#include <algorithm>
#include <vector>

#include "index/hnsw_index.h"
#include "index/internal/hnsw_scratch.h"

namespace meridian::index {
namespace {

// Linking an orphan back can, rarely, cut off another node: the usual pruning of a full list, or
// the forced link replacing one. Each round finds and relinks those; bounded so that a
// pathological graph cannot make it loop.
constexpr int kMaxRepairRounds = 4;

}  // namespace

void HnswIndex::mark_reachable(uint32_t start, std::vector<uint8_t>& seen,
                               std::vector<uint32_t>& queue) const {
  if (seen[start] != 0) return;
  seen[start] = 1;
  queue.assign(1, start);
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint32_t* list = links(queue[head], 0);
    for (uint32_t i = 1; i <= list[0]; ++i) {
      if (seen[list[i]] == 0) {
        seen[list[i]] = 1;
        queue.push_back(list[i]);
      }
    }
  }
}

void HnswIndex::link_unreachable(uint32_t node, internal::HnswScratch& scratch) {
  // Find the node's neighbours as an insert would, from the entry point: every node the search
  // returns is reachable, so one link from any of them makes `node` reachable too.
  const float* query = vector_of(node);
  Candidate best{distance(query, vector_of(entry_)), entry_};
  for (int l = max_level_; l > 0; --l) {
    search_layer(query, best, l, 1, node, nullptr, scratch);
    best = scratch.results.front();
  }
  const size_t ef = std::max(params_.ef_construction, params_.m);
  search_layer(query, best, 0, ef, node, nullptr, scratch);
  std::vector<Candidate> found;
  for (const Candidate& c : scratch.results) {
    if (c.node != node) found.push_back(c);
  }
  if (found.empty()) return;
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.node < b.node);
  });
  select_neighbors_heuristic(found, max_links_, scratch.selected);
  std::vector<uint32_t> chosen;
  for (const Candidate& c : scratch.selected) chosen.push_back(c.node);
  // The usual back-links, with the usual pruning of full lists.
  for (uint32_t neighbour : chosen) connect_back(neighbour, node, 0, nullptr, scratch);
  const auto links_to_node = [&](uint32_t from) {
    const uint32_t* list = links(from, 0);
    return std::find(list + 1, list + 1 + list[0], node) != list + 1 + list[0];
  };
  if (std::any_of(chosen.begin(), chosen.end(), links_to_node)) return;
  // Every chosen neighbour pruned the link away again: add it unpruned to the closest found node
  // with room, or else in place of the last link of the closest one.
  for (const Candidate& c : found) {
    uint32_t* list = links(c.node, 0);
    if (list[0] < max_links0_) {
      list[1 + list[0]] = node;
      ++list[0];
      return;
    }
  }
  uint32_t* list = links(found.front().node, 0);
  list[list[0]] = node;
}

size_t HnswIndex::repair_reachability() {
  if (entry_ == kNoNode) return 0;
  size_t linked = 0;
  std::vector<uint8_t> seen(node_count_);
  std::vector<uint32_t> queue;
  auto scratch = acquire_scratch();
  for (int round = 0; round < kMaxRepairRounds; ++round) {
    std::fill(seen.begin(), seen.end(), 0);
    mark_reachable(entry_, seen, queue);
    size_t linked_now = 0;
    for (uint32_t node = 0; node < node_count_; ++node) {
      if (seen[node] != 0 || deleted_[node] != 0) continue;
      link_unreachable(node, *scratch);
      ++linked_now;
      // Whatever the node reaches (say the rest of a cut-off cluster) is reachable now too.
      mark_reachable(node, seen, queue);
    }
    linked += linked_now;
    if (linked_now == 0) break;
  }
  release_scratch(std::move(scratch));
  return linked;
}

}  // namespace meridian::index
