// rapidcheck properties of the points CRDT over 3-5 replicas with random writes and random
// delivery (reorder, duplicates, drops, then anti-entropy), checked against the oracle model after
// every delivery, plus the lattice laws of join.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <vector>

#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"
#include "tests/crdt/model.h"

namespace meridian::crdt {
namespace {

using testing::OpKind;
using testing::OracleModel;
using testing::view_of;

const std::vector<std::string> kIds = {"a", "b", "c"};
const std::vector<std::string> kFields = {"f", "g", "h"};

struct Message {
  size_t to;
  PointSet payload;
  std::set<int> ops;  // what the payload carries, for the oracle
  HlcTimestamp sender_time;
};

struct SimReplica {
  PointReplica crdt;
  HlcStats stats;
  HybridLogicalClock clock;
  std::set<int> known;
  std::vector<std::pair<PointSet, int>> local;  // own deltas and their op index
  explicit SimReplica(ReplicaId id) : crdt(id), clock(HlcOptions{.max_offset_ms = 1000}, &stats) {}
};

class Harness {
 public:
  explicit Harness(int n) {
    for (int i = 0; i < n; ++i) replicas_.push_back(std::make_unique<SimReplica>(100 + i));
  }

  void random_write() {
    SimReplica& r = pick_replica();
    const auto kind = static_cast<OpKind>(*rc::gen::inRange(0, 5));
    const std::string id = *rc::gen::elementOf(kIds);
    // Few distinct physical times, so equal HLCs on different replicas (LWW ties) are common.
    const HlcTimestamp ts = r.clock.now(*rc::gen::inRange<uint64_t>(0, 4));
    std::vector<float> vector = {static_cast<float>(*rc::gen::inRange(0, 100))};
    PayloadFields fields;
    for (const std::string& f : kFields) {
      if (*rc::gen::inRange(0, 3) == 0) fields[f] = std::to_string(*rc::gen::inRange(0, 9));
    }
    std::vector<std::string> keys;
    for (const std::string& f : kFields) {
      if (*rc::gen::inRange(0, 2) == 0) keys.push_back(f);
    }
    const std::optional<int> op =
        model_.write(r.known, kind, r.crdt.id(), id, ts, vector, fields, keys);
    absl::StatusOr<PointSet> delta;
    switch (kind) {
      case OpKind::kUpsert:
        delta = r.crdt.upsert(id, vector, fields, ts);
        break;
      case OpKind::kRemove:
        delta = r.crdt.remove(id);
        break;
      case OpKind::kSetPayload:
        delta = r.crdt.set_payload(id, fields, ts);
        break;
      case OpKind::kOverwritePayload:
        delta = r.crdt.overwrite_payload(id, fields, ts);
        break;
      case OpKind::kDeletePayloadKeys:
        delta = r.crdt.delete_payload_keys(id, keys);
        break;
    }
    RC_ASSERT(delta.ok() == op.has_value());
    if (op.has_value()) r.local.emplace_back(*std::move(delta), *op);
    check(r);
  }

  void random_send() {
    const size_t from = *rc::gen::inRange<size_t>(0, replicas_.size());
    const size_t to = *rc::gen::inRange<size_t>(0, replicas_.size());
    SimReplica& s = *replicas_[from];
    Message m{to, {}, {}, s.clock.last()};
    const int form = *rc::gen::inRange(0, 3);
    if (form == 0 || s.local.empty()) {
      m.payload = s.crdt.state();  // full state
      m.ops = s.known;
    } else {
      // An interval of own deltas, joined (a single delta when begin + 1 == end).
      const size_t begin = *rc::gen::inRange<size_t>(0, s.local.size());
      const size_t end = *rc::gen::inRange<size_t>(begin + 1, s.local.size() + 1);
      for (size_t i = begin; i < end; ++i) {
        m.payload.join(s.local[i].first);
        m.ops.insert(s.local[i].second);
      }
    }
    network_.push_back(std::move(m));
  }

  void random_delivery() {
    if (network_.empty()) return;
    const size_t i = *rc::gen::inRange<size_t>(0, network_.size());
    const int fate = *rc::gen::inRange(0, 10);
    if (fate < 2) {  // dropped
      network_.erase(network_.begin() + i);
      return;
    }
    deliver(network_[i]);
    if (fate < 4) {  // duplicated: redelivery must change nothing
      SimReplica& r = *replicas_[network_[i].to];
      const StateDigest before = digest(r.crdt.state());
      RC_ASSERT(!r.crdt.apply(network_[i].payload));
      RC_ASSERT(digest(r.crdt.state()) == before);
    } else {
      network_.erase(network_.begin() + i);
    }
  }

  void check_join_laws() {
    const PointSet& a = pick_replica().crdt.state();
    const PointSet& b = pick_replica().crdt.state();
    const PointSet& c = pick_replica().crdt.state();
    PointSet ab = a, ba = b, aa = a;
    ab.join(b);
    ba.join(a);
    RC_ASSERT(encode_point_set(ab) == encode_point_set(ba));
    aa.join(a);
    RC_ASSERT(encode_point_set(aa) == encode_point_set(a));
    PointSet ab_c = ab, bc = b, a_bc = a;
    ab_c.join(c);
    bc.join(c);
    a_bc.join(bc);
    RC_ASSERT(encode_point_set(ab_c) == encode_point_set(a_bc));
  }

  // Anti-entropy after the faults: every replica sends its full state to every other, twice.
  void heal() {
    network_.clear();
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < replicas_.size(); ++i) {
        for (size_t j = 0; j < replicas_.size(); ++j) {
          deliver(Message{j, replicas_[i]->crdt.state(), replicas_[i]->known,
                          replicas_[i]->clock.last()});
        }
      }
    }
    std::set<int> all;
    for (size_t i = 0; i < model_.op_count(); ++i) all.insert(static_cast<int>(i));
    for (const auto& r : replicas_) {
      RC_ASSERT(r->known == all);
      RC_ASSERT(digest(r->crdt.state()) == digest(replicas_[0]->crdt.state()));
    }
  }

 private:
  SimReplica& pick_replica() { return *replicas_[*rc::gen::inRange<size_t>(0, replicas_.size())]; }

  void deliver(const Message& m) {
    SimReplica& r = *replicas_[m.to];
    RC_ASSERT(r.clock.update(m.sender_time, r.clock.last().physical_ms).ok());
    const bool news = !std::includes(r.known.begin(), r.known.end(), m.ops.begin(), m.ops.end());
    const bool changed = r.crdt.apply(m.payload);
    RC_ASSERT(!changed || news);  // a join inflates only if it brings a write not yet known
    r.known.insert(m.ops.begin(), m.ops.end());
    check(r);
  }

  // The CRDT state of `r` equals the oracle's, orphan fields and siblings included.
  void check(const SimReplica& r) {
    const auto expected = model_.view(r.known);
    const auto actual = view_of(r.crdt.state());
    if (expected != actual) {
      RC_FAIL("replica " + std::to_string(r.crdt.id()) + " differs from the oracle\nexpected:\n" +
              testing::to_string(expected) + "actual:\n" + testing::to_string(actual));
    }
    // Reads: the LWW winner of each register is the greatest (hlc, replica) write, on every
    // replica, ties on hlc included.
    size_t visible = 0;
    for (const auto& [id, record] : expected) {
      const std::optional<PointValue> value = r.crdt.state().get(id);
      RC_ASSERT(value.has_value() == !record.vector_writes.empty());
      if (!value.has_value()) continue;
      ++visible;
      const auto& [hlc, replica, vector] = *record.vector_writes.rbegin();
      RC_ASSERT(value->hlc == hlc);
      RC_ASSERT(value->dot.replica == replica);
      RC_ASSERT(testing::vector_text(value->vector) == vector);
      RC_ASSERT(value->payload.size() == record.field_writes.size());
      for (const auto& [name, writes] : record.field_writes) {
        RC_ASSERT(value->payload.at(name) == std::get<2>(*writes.rbegin()));
      }
    }
    RC_ASSERT(r.crdt.state().size() == visible);
  }

  std::vector<std::unique_ptr<SimReplica>> replicas_;
  std::vector<Message> network_;
  OracleModel model_;
};

RC_GTEST_PROP(PointSetPropertyTest, ReplicasMatchTheOracleAndConverge, ()) {
  Harness h(*rc::gen::inRange(3, 6));
  const int steps = *rc::gen::inRange(0, 120);
  for (int step = 0; step < steps; ++step) {
    const int what = *rc::gen::inRange(0, 100);
    if (what < 40) {
      h.random_write();
    } else if (what < 65) {
      h.random_send();
    } else if (what < 95) {
      h.random_delivery();
    } else {
      h.check_join_laws();
    }
  }
  h.check_join_laws();
  h.heal();
}

}  // namespace
}  // namespace meridian::crdt
