// The simulation. Everything random comes from one splitmix64 stream (not <random>'s
// distributions, whose output differs between standard libraries) so a seed replays anywhere.
#include "tests/crdt/simulation.h"

#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crdt/delta_log.h"
#include "crdt/hlc.h"
#include "crdt/point_replica.h"
#include "crdt/point_set_codec.h"

namespace meridian::crdt::testing {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }

 private:
  uint64_t state_;
};

constexpr HlcOptions kHlc{.max_offset_ms = 500, .reservation_window_ms = 100};

struct Disk {  // what survives a restart
  std::string state;
  uint64_t hlc_bound = 0;
  uint64_t next_seq = 1;
};

struct Node {
  ReplicaId id = 0;
  std::unique_ptr<PointReplica> crdt;
  HlcStats stats;
  std::unique_ptr<HybridLogicalClock> clock;
  std::unique_ptr<DeltaLog> log;
  int64_t skew_ms = 0;
  Disk disk;
  std::optional<Disk> backup;
};

struct Message {
  enum class Kind { kDelta, kFullState, kAck } kind;
  size_t to;
  ReplicaId to_id, from_id;
  std::string bytes;  // encoded payload (deltas and full states)
  uint64_t seq;       // through_seq, or the acked seq
  HlcTimestamp hlc;
};

class Simulation {
 public:
  Simulation(uint64_t seed, const SimulationOptions& options) : rng_(seed), options_(options) {
    const size_t n = 3 + rng_.below(3);
    for (size_t i = 0; i < n; ++i) {
      nodes_.push_back(std::make_unique<Node>());
      Node& node = *nodes_.back();
      node.id = mint_id();
      node.crdt = std::make_unique<PointReplica>(node.id);
      node.clock = std::make_unique<HybridLogicalClock>(kHlc, &node.stats);
      node.log = std::make_unique<DeltaLog>();
      node.skew_ms = static_cast<int64_t>(rng_.below(400)) - 200;
      persist(node);
    }
    for (auto& node : nodes_) {
      for (auto& peer : nodes_) {
        if (peer != node) node->log->add_peer(peer->id);
      }
    }
  }

  SimulationResult run() {
    for (int step = 0; step < options_.steps && result_.ok; ++step) {
      now_ms_ += rng_.below(20);
      const uint64_t what = rng_.below(100);
      if (what < 35) {
        write(pick());
      } else if (what < 55) {
        gossip(pick(), pick());
      } else if (what < 88) {
        deliver_random();
      } else if (what < 93) {
        result_.compacted += nodes_[pick()]->log->compact();
      } else if (what < 95) {
        restart(pick());
      } else if (what < 97) {
        Node& node = *nodes_[pick()];
        node.backup = node.disk;
      } else if (what < 98) {
        restore(pick());
      } else {
        // Mostly within the tolerated offset; sometimes far beyond it.
        nodes_[pick()]->skew_ms =
            rng_.chance(20) ? 1500 : static_cast<int64_t>(rng_.below(800)) - 400;
      }
    }
    if (result_.ok) heal();
    return result_;
  }

 private:
  size_t pick() { return rng_.below(nodes_.size()); }
  uint64_t physical(const Node& node) const {
    return static_cast<uint64_t>(
        std::max<int64_t>(0, static_cast<int64_t>(now_ms_) + node.skew_ms));
  }
  ReplicaId mint_id() {
    ReplicaId id;
    do id = rng_.next();
    while (id == 0 || used_ids_.contains(id));
    used_ids_.insert(id);
    return id;
  }
  void fail(const std::string& what) {
    if (!result_.ok) return;
    result_.ok = false;
    result_.failure = absl::StrCat(what, " (at t=", now_ms_, "ms)");
  }
  void log_event(const std::string& what) {
    if (options_.verbose) std::cout << "t=" << now_ms_ << " " << what << "\n";
  }

  void persist(Node& node) {
    node.disk.state = encode_point_set(node.crdt->state());
    if (node.clock->needs_reservation()) node.disk.hlc_bound = node.clock->reserve();
    node.disk.next_seq = node.log->last_seq() + 1;
  }

  void write(size_t i) {
    Node& node = *nodes_[i];
    const PointId id(1, static_cast<char>('a' + rng_.below(6)));
    const HlcTimestamp ts = node.clock->now(physical(node));
    const std::vector<float> vector = {static_cast<float>(rng_.below(1000))};
    PayloadFields fields;
    for (const char* f : {"f", "g"}) {
      if (rng_.chance(40)) fields[f] = std::to_string(rng_.below(10));
    }
    absl::StatusOr<PointSet> delta;
    switch (rng_.below(5)) {
      case 0:
      case 1:
        delta = node.crdt->upsert(id, vector, fields, ts);
        break;
      case 2:
        delta = node.crdt->remove(id);
        break;
      case 3:
        delta = node.crdt->set_payload(id, fields, ts);
        break;
      default:
        delta = node.crdt->delete_payload_keys(id, {"f"});
        break;
    }
    if (!delta.ok()) return;  // NotFound: nothing to write
    // Dots are never reused: every version a write adds carries a dot no write minted before.
    for (const auto& [pid, record] : delta->records()) {
      for (const auto& v : record.vector_versions) check_fresh(v.dot);
      for (const auto& [name, versions] : record.fields) {
        for (const auto& v : versions) check_fresh(v.dot);
      }
    }
    node.log->append(*std::move(delta));
    persist(node);
    ++result_.writes;
    log_event(absl::StrCat("write at ", i, " id=", id));
  }

  void check_fresh(const Dot& dot) {
    if (!minted_.insert(dot).second) fail(absl::StrCat("dot reused: ", to_string(dot)));
  }

  void gossip(size_t from, size_t to) {
    if (from == to) return;
    Node& s = *nodes_[from];
    auto out = s.log->deltas_since(nodes_[to]->id);
    if (!out.ok()) return fail(absl::StrCat("deltas_since: ", out.status().ToString()));
    Message m{Message::Kind::kDelta, to, nodes_[to]->id, s.id, {}, out->through_seq,
              s.clock->last()};
    switch (out->kind) {
      case OutgoingDeltas::Kind::kUpToDate:
        return;
      case OutgoingDeltas::Kind::kDeltas:
        m.bytes = encode_point_set(out->delta);
        break;
      case OutgoingDeltas::Kind::kFullState:
        m.kind = Message::Kind::kFullState;
        m.bytes = encode_point_set(s.crdt->state());
        ++result_.full_states;
        break;
    }
    network_.push_back(std::move(m));
  }

  void deliver_random() {
    if (network_.empty()) return;
    const size_t k = rng_.below(network_.size());
    if (rng_.chance(10)) {
      ++result_.dropped;
      network_.erase(network_.begin() + static_cast<std::ptrdiff_t>(k));
      return;
    }
    const Message m = network_[k];
    if (rng_.chance(10)) {
      ++result_.duplicated;  // stays in flight: delivered again later
    } else {
      network_.erase(network_.begin() + static_cast<std::ptrdiff_t>(k));
    }
    deliver(m);
  }

  void deliver(const Message& m) {
    Node& node = *nodes_[m.to];
    if (node.id != m.to_id) return;  // addressed to a replaced incarnation
    ++result_.delivered;
    if (m.kind == Message::Kind::kAck) {
      if (!node.log->has_peer(m.from_id)) return;  // the sender was replaced meanwhile
      auto st = node.log->acknowledge(m.from_id, m.seq);
      if (!st.ok()) fail(absl::StrCat("ack: ", st.ToString()));
      return;
    }
    if (!node.clock->update(m.hlc, physical(node)).ok()) {
      ++result_.rejected_clock;  // refused, not acked: the sender retries later
      return;
    }
    auto delta = decode_point_set(m.bytes);
    if (!delta.ok()) return fail(absl::StrCat("decode: ", delta.status().ToString()));
    if (node.crdt->apply(*delta)) node.log->append(*std::move(delta));  // forward transitively
    persist(node);
    network_.push_back(Message{Message::Kind::kAck,
                               index_of(m.from_id),
                               m.from_id,
                               node.id,
                               {},
                               m.seq,
                               node.clock->last()});
  }

  size_t index_of(ReplicaId id) const {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->id == id) return i;
    }
    return 0;  // a replaced incarnation: the id check on delivery discards the message
  }

  // A clean restart: same id, state and clock bound from disk; the delta log is not kept, so
  // every peer gets a full state next.
  void restart(size_t i) {
    Node& node = *nodes_[i];
    if (!reload(node, node.disk, /*fresh_id=*/false)) return;
    ++result_.restarts;
    log_event(absl::StrCat("restart ", i));
  }

  // A restore from an older backup: a fresh id, and the peers replace the old one.
  void restore(size_t i) {
    Node& node = *nodes_[i];
    if (!node.backup.has_value()) return;
    const ReplicaId old_id = node.id;
    if (!reload(node, *node.backup, /*fresh_id=*/true)) return;
    for (auto& peer : nodes_) {
      if (peer.get() == &node) continue;
      peer->log->remove_peer(old_id);
      peer->log->add_peer(node.id);
    }
    ++result_.restores;
    log_event(absl::StrCat("restore ", i, " as ", node.id));
  }

  bool reload(Node& node, const Disk& disk, bool fresh_id) {
    auto state = decode_point_set(disk.state);
    if (!state.ok()) {
      fail(absl::StrCat("decode persisted state: ", state.status().ToString()));
      return false;
    }
    if (fresh_id) {
      node.id = mint_id();
      auto restored = PointReplica::restore_as(node.id, *std::move(state));
      if (!restored.ok()) {
        fail(restored.status().ToString());
        return false;
      }
      node.crdt = std::make_unique<PointReplica>(*std::move(restored));
      // The restored state is in no log: numbering from 2 puts it behind the horizon, so every
      // peer first gets a full state (the backup may hold writes no peer ever received).
      node.log = std::make_unique<DeltaLog>(2);
    } else {
      node.crdt = std::make_unique<PointReplica>(PointReplica::resume(node.id, *std::move(state)));
      node.log = std::make_unique<DeltaLog>(disk.next_seq);
    }
    node.clock = std::make_unique<HybridLogicalClock>(
        HybridLogicalClock::restore(kHlc, &node.stats, disk.hlc_bound));
    for (auto& peer : nodes_) {
      if (peer.get() != &node) node.log->add_peer(peer->id);
    }
    node.disk = disk;
    persist(node);
    return true;
  }

  // No more faults: clocks agree, nothing is dropped; anti-entropy runs until every log has
  // nothing left to send, then every replica must hold the same state.
  void heal() {
    for (auto& node : nodes_) node->skew_ms = 0;
    network_.clear();
    for (int round = 0; round < 200 && result_.ok; ++round) {
      now_ms_ += 200;  // lets timestamps issued under a forward skew fall within the offset
      bool idle = true;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        for (size_t j = 0; j < nodes_.size(); ++j) {
          if (i == j) continue;
          auto out = nodes_[i]->log->deltas_since(nodes_[j]->id);
          if (out.ok() && out->kind != OutgoingDeltas::Kind::kUpToDate) idle = false;
          gossip(i, j);
        }
      }
      while (!network_.empty() && result_.ok) {
        const Message m = network_.front();
        network_.pop_front();
        deliver(m);
      }
      for (auto& node : nodes_) result_.compacted += node->log->compact();
      if (idle) break;
      if (round == 199) fail("anti-entropy did not quiesce in 200 rounds");
    }
    const std::string first = to_hex(digest(nodes_[0]->crdt->state()));
    for (size_t i = 1; i < nodes_.size() && result_.ok; ++i) {
      const std::string other = to_hex(digest(nodes_[i]->crdt->state()));
      if (other != first) fail(absl::StrCat("replica ", i, " digest ", other, " != ", first));
    }
    for (auto& node : nodes_) {
      if (node->log->size() != 0 && result_.ok) fail("delta log not compacted after healing");
    }
    result_.digest_hex = first;
  }

  Rng rng_;
  SimulationOptions options_;
  SimulationResult result_;
  uint64_t now_ms_ = 1'000'000;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Message> network_;
  std::set<ReplicaId> used_ids_;
  std::set<Dot> minted_;
};

}  // namespace

SimulationResult run_simulation(uint64_t seed, const SimulationOptions& options) {
  return Simulation(seed, options).run();
}

}  // namespace meridian::crdt::testing
