// rapidcheck property of the delta log: compaction never drops a delta that some known peer has
// not acknowledged, and every interval it serves is exactly the join of the deltas the peer lacks.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <vector>

#include "crdt/delta_log.h"
#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"

namespace meridian::crdt {
namespace {

using Kind = OutgoingDeltas::Kind;

RC_GTEST_PROP(DeltaLogPropertyTest, CompactionNeverDropsWhatAPeerLacks, ()) {
  PointReplica writer(1);
  DeltaLog log;
  std::vector<PointSet> all;            // every delta ever appended, seq = index + 1
  std::map<ReplicaId, uint64_t> holds;  // the model: each peer holds exactly seqs 1..holds[p]
  std::map<ReplicaId, bool> behind;     // peers added after a compaction: full state expected
  for (ReplicaId p = 2; p < 2 + static_cast<ReplicaId>(*rc::gen::inRange(0, 4)); ++p) {
    log.add_peer(p);
    holds[p] = 0;
    behind[p] = false;
  }
  const int steps = *rc::gen::inRange(0, 150);
  for (int step = 0; step < steps; ++step) {
    const int what = *rc::gen::inRange(0, 100);
    if (what < 35) {
      const std::string id(1, static_cast<char>('a' + *rc::gen::inRange(0, 4)));
      all.push_back(writer.upsert(id, {static_cast<float>(step)}, {}, {uint64_t(step), 0}));
      RC_ASSERT(log.append(all.back()) == all.size());
    } else if (what < 65 && !holds.empty()) {
      // A peer receives what the log offers and acknowledges it (or an older, stale ack).
      auto it = holds.begin();
      std::advance(it, *rc::gen::inRange<size_t>(0, holds.size()));
      auto out = log.deltas_since(it->first);
      RC_ASSERT(out.ok());
      if (*rc::gen::inRange(0, 4) == 0) {
        RC_ASSERT(log.acknowledge(it->first, *rc::gen::inRange<uint64_t>(0, it->second + 1)).ok());
      } else {
        if (out->kind == Kind::kFullState) behind[it->first] = false;  // got the whole state
        it->second = out->through_seq;
        RC_ASSERT(log.acknowledge(it->first, it->second).ok());
      }
    } else if (what < 85) {
      log.compact();
    } else if (what < 92) {
      const ReplicaId p = 10 + static_cast<ReplicaId>(step);
      log.add_peer(p);
      holds[p] = 0;
      behind[p] = log.horizon() > 0;
    } else if (!holds.empty()) {
      auto it = holds.begin();
      std::advance(it, *rc::gen::inRange<size_t>(0, holds.size()));
      log.remove_peer(it->first);
      behind.erase(it->first);
      holds.erase(it);
    }
    // The invariant: a known peer is served either everything it lacks, or a full state, and a
    // full state only when it lacks something the log no longer holds.
    for (const auto& [peer, held] : holds) {
      auto out = log.deltas_since(peer);
      RC_ASSERT(out.ok());
      RC_ASSERT(*log.acked(peer) == held);
      if (held < log.horizon()) {
        RC_ASSERT(out->kind == Kind::kFullState);
        RC_ASSERT(behind[peer]);  // only peers that joined after a compaction fell behind
        continue;
      }
      PointSet expected;
      for (uint64_t seq = held + 1; seq <= all.size(); ++seq) expected.join(all[seq - 1]);
      if (held == all.size()) {
        RC_ASSERT(out->kind == Kind::kUpToDate);
      } else {
        RC_ASSERT(out->kind == Kind::kDeltas);
        RC_ASSERT(digest(out->delta) == digest(expected));
      }
    }
  }
}

}  // namespace
}  // namespace meridian::crdt
