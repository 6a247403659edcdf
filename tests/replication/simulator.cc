// The replication simulator. Everything (time, delivery order, faults, the replicas' random draws)
// flows from one std::mt19937_64 seeded with the seed; events run from one ordered queue keyed by
// (time, insertion number), so nothing depends on addresses or hash order.
#include "tests/replication/simulator.h"

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "crdt/hlc.h"
#include "crdt/point_set_codec.h"
#include "replication/memory_shard_store.h"
#include "replication/shard_replicator.h"
#include "replication/wire_codec.h"
#include "tests/crdt/model.h"

namespace meridian::replication::testing {
namespace {

using crdt::ReplicaId;
using crdt::testing::RecordView;
using crdt::testing::StateView;
using crdt::testing::WriteKey;

class Simulation;

// One replica: its durable image survives crashes; everything else is rebuilt on restart.
struct Node {
  ReplicaId id = 0;
  bool alive = true;
  uint64_t incarnation = 0;
  std::unique_ptr<MemoryShardStore> store;
  std::unique_ptr<Env> env;
  std::unique_ptr<ShardReplicator> replicator;
  std::unique_ptr<crdt::HybridLogicalClock> clock;
  crdt::HlcStats clock_stats;
  ReplicationMetrics metrics;
  DurableShard durable;
};

// The oracle: every write's added tags, and the tags each write observed (hence removed).
struct Oracle {
  StateView adds;
  StateView removed;

  StateView expected() const {
    StateView out;
    for (const auto& [id, record] : adds) {
      RecordView r;
      auto gone = removed.find(id);
      for (const WriteKey& k : record.vector_writes) {
        if (gone == removed.end() || !gone->second.vector_writes.contains(k)) {
          r.vector_writes.insert(k);
        }
      }
      for (const auto& [name, keys] : record.field_writes) {
        for (const WriteKey& k : keys) {
          bool was_removed = false;
          if (gone != removed.end()) {
            auto f = gone->second.field_writes.find(name);
            was_removed = f != gone->second.field_writes.end() && f->second.contains(k);
          }
          if (!was_removed) r.field_writes[name].insert(k);
        }
      }
      if (!r.vector_writes.empty() || !r.field_writes.empty()) out.emplace(id, std::move(r));
    }
    return out;
  }
};

class Simulation {
 public:
  Simulation(uint64_t seed, const SimulationOptions& options)
      : seed_(seed), options_(options), rng_(seed) {}

  SimulationResult run();

  // Env plumbing.
  int64_t now() const { return now_; }
  uint64_t random() { return rng_(); }
  void send(ReplicaId from, ReplicaId to, const PeerMessage& message);
  void schedule(Node& node, int64_t delay_ms, TimerEvent event);
  void connect(ReplicaId from, ReplicaId to);

 private:
  struct Link {
    bool connected = false;
    bool cut = false;
    uint64_t epoch = 0;
  };

  void at(int64_t time, std::function<void()> fn) { queue_.emplace(std::pair(time, next_++), fn); }
  void run_until(int64_t time);
  Link& link(ReplicaId a, ReplicaId b) { return links_[std::minmax(a, b)]; }
  Node& node(ReplicaId id) { return *nodes_[id - 1]; }
  void log(const std::string& line) {
    if (options_.verbose) std::printf("[%8lld] %s\n", static_cast<long long>(now_), line.c_str());
  }
  void boot(Node& n);
  void crash(Node& n);
  void disconnect(ReplicaId a, ReplicaId b);
  void write(Node& n);
  void fail(const std::string& why) {
    if (result_.ok) {
      result_.ok = false;
      result_.failure = why;
    }
  }
  bool converged(std::string* why);
  std::vector<ReplicaId> peers_of(ReplicaId id) const;

  uint64_t seed_;
  SimulationOptions options_;
  std::mt19937_64 rng_;
  int64_t now_ = 0;
  uint64_t next_ = 0;
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> queue_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::pair<ReplicaId, ReplicaId>, Link> links_;
  ReplicatorOptions replicator_options_;
  double p_drop_ = 0, p_dup_ = 0;
  int64_t max_delay_ms_ = 50;
  Oracle oracle_;
  SimulationResult result_;
};

class SimEnv final : public Env {
 public:
  SimEnv(Simulation& sim, Node& node) : sim_(sim), node_(node) {}
  int64_t now_ms() override { return sim_.now(); }
  uint64_t random_u64() override { return sim_.random(); }
  void send(ReplicaId to, PeerMessage message) override { sim_.send(node_.id, to, message); }
  void schedule(int64_t delay_ms, TimerEvent event) override {
    sim_.schedule(node_, delay_ms, event);
  }
  void connect(ReplicaId peer) override { sim_.connect(node_.id, peer); }

 private:
  Simulation& sim_;
  Node& node_;
};

std::vector<ReplicaId> Simulation::peers_of(ReplicaId id) const {
  std::vector<ReplicaId> out;
  for (const auto& n : nodes_) {
    if (n->id != id) out.push_back(n->id);
  }
  return out;
}

void Simulation::run_until(int64_t time) {
  while (!queue_.empty() && queue_.begin()->first.first <= time) {
    auto it = queue_.begin();
    now_ = it->first.first;
    std::function<void()> fn = std::move(it->second);
    queue_.erase(it);
    fn();
  }
  now_ = std::max(now_, time);
}

void Simulation::schedule(Node& n, int64_t delay_ms, TimerEvent event) {
  const uint64_t incarnation = n.incarnation;
  at(now_ + delay_ms, [this, &n, incarnation, event] {
    if (n.alive && n.incarnation == incarnation) n.replicator->on_timer(event);
  });
}

void Simulation::send(ReplicaId from, ReplicaId to, const PeerMessage& message) {
  Link& l = link(from, to);
  if (!l.connected) return;
  // Every message crosses the wire codec, so the simulation also exercises it.
  const std::string bytes = encode_peer_message(message);
  const uint64_t epoch = l.epoch;
  std::uniform_real_distribution<double> coin(0, 1);
  if (coin(rng_) < p_drop_) {
    ++result_.dropped;
    log("drop " + std::string(kind_name(message.body)) + " " + std::to_string(from) + "->" +
        std::to_string(to));
    return;
  }
  const int copies = coin(rng_) < p_dup_ ? 2 : 1;
  if (copies == 2) ++result_.duplicated;
  for (int i = 0; i < copies; ++i) {
    const int64_t delay = 1 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(max_delay_ms_));
    at(now_ + delay, [this, from, to, bytes, epoch] {
      Link& l = link(from, to);
      Node& n = node(to);
      if (!l.connected || l.epoch != epoch || !n.alive) return;
      auto decoded = decode_peer_message(bytes);
      if (!decoded.ok())
        return fail("wire codec rejected its own message: " + decoded.status().ToString());
      ++result_.delivered;
      log("deliver " + std::string(kind_name(decoded->body)) + " " + std::to_string(from) + "->" +
          std::to_string(to));
      n.replicator->on_message(*decoded);
    });
  }
}

void Simulation::connect(ReplicaId from, ReplicaId to) {
  at(now_ + 5, [this, from, to] {
    Link& l = link(from, to);
    Node& a = node(from);
    Node& b = node(to);
    if (!a.alive) return;
    if (l.connected) return;
    if (l.cut || !b.alive) {
      a.replicator->on_disconnected(to);  // the attempt failed
      return;
    }
    l.connected = true;
    ++l.epoch;
    log("connect " + std::to_string(from) + "<->" + std::to_string(to));
    a.replicator->on_connected(to);
    b.replicator->on_connected(from);
  });
}

void Simulation::disconnect(ReplicaId a, ReplicaId b) {
  Link& l = link(a, b);
  if (!l.connected) return;
  l.connected = false;
  ++l.epoch;
  log("disconnect " + std::to_string(a) + "<->" + std::to_string(b));
  for (ReplicaId side : {a, b}) {
    Node& n = node(side);
    if (n.alive) n.replicator->on_disconnected(side == a ? b : a);
  }
}

void Simulation::boot(Node& n) {
  n.alive = true;
  ++n.incarnation;
  n.env = std::make_unique<SimEnv>(*this, n);
  n.clock = std::make_unique<crdt::HybridLogicalClock>(crdt::HlcOptions{}, &n.clock_stats);
  n.replicator =
      std::make_unique<ShardReplicator>(n.id, replicator_options_, *n.store, *n.env, n.metrics);
  n.replicator->start(peers_of(n.id));
}

void Simulation::crash(Node& n) {
  log("crash " + std::to_string(n.id));
  ++result_.crashes;
  for (ReplicaId peer : peers_of(n.id)) disconnect(n.id, peer);
  n.durable = n.store->durable();
  n.alive = false;
  n.replicator.reset();
  n.env.reset();
  n.store.reset();
}

void Simulation::write(Node& n) {
  static const char* kFields[] = {"a", "b", "c"};
  const crdt::PointId id = "p" + std::to_string(rng_() % 8);
  const int kind = static_cast<int>(rng_() % 10);
  const crdt::HlcTimestamp ts = n.clock->now(static_cast<uint64_t>(now_));
  const std::string value = std::to_string(rng_() % 1000);
  const std::string field = kFields[rng_() % 3];
  // What this replica observes of `id` before the write: the tags an observed-remove removes.
  StateView before = crdt::testing::view_of(n.store->state());
  const RecordView seen = before.contains(id) ? before.at(id) : RecordView{};
  crdt::PointReplica& r = n.store->replica();
  absl::StatusOr<crdt::PointSet> delta = absl::NotFoundError("");
  RecordView removes, adds;
  if (kind < 5) {
    std::vector<float> vec = {static_cast<float>(rng_() % 100), static_cast<float>(kind)};
    delta = r.upsert(id, vec, {{field, value}}, ts);
    removes = seen;
    adds.vector_writes.emplace(ts, n.id, crdt::testing::vector_text(vec));
    adds.field_writes[field].emplace(ts, n.id, value);
  } else if (kind < 7) {
    delta = r.remove(id);
    removes = seen;
  } else if (kind < 8) {
    delta = r.set_payload(id, {{field, value}}, ts);
    if (seen.field_writes.contains(field)) {
      removes.field_writes[field] = seen.field_writes.at(field);
    }
    adds.field_writes[field].emplace(ts, n.id, value);
  } else if (kind < 9) {
    delta = r.overwrite_payload(id, {{field, value}}, ts);
    removes.field_writes = seen.field_writes;
    adds.field_writes[field].emplace(ts, n.id, value);
  } else {
    delta = r.delete_payload_keys(id, {field});
    if (seen.field_writes.contains(field)) {
      removes.field_writes[field] = seen.field_writes.at(field);
    }
  }
  if (!delta.ok()) return;  // NotFound: nothing to write
  ++result_.writes;
  RecordView& a = oracle_.adds[id];
  a.vector_writes.insert(adds.vector_writes.begin(), adds.vector_writes.end());
  for (auto& [name, keys] : adds.field_writes)
    a.field_writes[name].insert(keys.begin(), keys.end());
  RecordView& g = oracle_.removed[id];
  g.vector_writes.insert(removes.vector_writes.begin(), removes.vector_writes.end());
  for (auto& [name, keys] : removes.field_writes) {
    g.field_writes[name].insert(keys.begin(), keys.end());
  }
  const uint64_t seq = n.store->commit_local(*std::move(delta));
  log("write " + std::to_string(n.id) + " kind " + std::to_string(kind) + " " + id + " seq " +
      std::to_string(seq));
  n.replicator->on_local_commit(seq);
}

bool Simulation::converged(std::string* why) {
  std::string digest;
  for (const auto& n : nodes_) {
    if (!n->alive) {
      *why = "replica " + std::to_string(n->id) + " is down";
      return false;
    }
    const std::string d = crdt::to_hex(crdt::digest(n->store->state()));
    if (digest.empty()) digest = d;
    if (d != digest) {
      *why = "digests differ";
      return false;
    }
    if (n->store->log().size() != 0) {
      *why = "replica " + std::to_string(n->id) + " log holds " +
             std::to_string(n->store->log().size()) + " entries, last seq " +
             std::to_string(n->store->log().last_seq()) + ", acks:";
      for (ReplicaId peer : peers_of(n->id)) {
        auto acked = n->store->log().acked(peer);
        *why += " " + std::to_string(peer) + "=" +
                (acked.ok() ? std::to_string(*acked) : std::string("detached")) +
                (n->replicator->established(peer) ? "" : "(not established)");
      }
      return false;
    }
  }
  result_.digest_hex = digest;
  return true;
}

SimulationResult Simulation::run() {
  const int n_replicas = 3 + static_cast<int>(rng_() % 3);
  replicator_options_.shard = ShardRef{"sim", 0};
  replicator_options_.max_in_flight = 1 + rng_() % 4;
  replicator_options_.max_bytes_in_flight = 256 + rng_() % 4096;
  replicator_options_.max_chunk_bytes = 64 + rng_() % 512;
  replicator_options_.tick_ms = 200;
  replicator_options_.ack_timeout_ms = 600;
  replicator_options_.detach_after_ms = 3000;
  replicator_options_.backoff = BackoffPolicy{50, 2000, 2};
  p_drop_ = static_cast<double>(rng_() % 15) / 100;
  p_dup_ = static_cast<double>(rng_() % 15) / 100;
  max_delay_ms_ = 5 + static_cast<int64_t>(rng_() % 80);
  log("replicas " + std::to_string(n_replicas));

  for (int i = 0; i < n_replicas; ++i) {
    auto n = std::make_unique<Node>();
    n->id = static_cast<ReplicaId>(i + 1);
    n->store = std::make_unique<MemoryShardStore>(n->id);
    nodes_.push_back(std::move(n));
  }
  for (auto& n : nodes_) boot(*n);

  std::set<ReplicaId> lagging;
  for (int step = 0; step < options_.steps && result_.ok; ++step) {
    run_until(now_ + static_cast<int64_t>(rng_() % 30));
    Node& n = *nodes_[rng_() % nodes_.size()];
    if (options_.force_lagging_replica && step == options_.steps / 10 && nodes_[0]->alive) {
      crash(*nodes_[0]);
      lagging.insert(nodes_[0]->id);
      continue;
    }
    const uint64_t action = rng_() % 100;
    if (action < 75) {
      if (n.alive) write(n);
    } else if (action < 79) {
      // Cut a random link (a partition of one pair; several cuts make bigger partitions).
      const ReplicaId a = nodes_[rng_() % nodes_.size()]->id, b = n.id;
      if (a == b) continue;
      link(a, b).cut = true;
      ++result_.partitions;
      log("partition " + std::to_string(a) + "|" + std::to_string(b));
      disconnect(a, b);
    } else if (action < 86) {
      for (auto& [pair, l] : links_) l.cut = false;
      log("heal all");
    } else if (action < 88) {
      if (n.alive && !lagging.contains(n.id)) {
        crash(n);
        Node* target = &n;
        at(now_ + 100 + static_cast<int64_t>(rng_() % 5000), [this, target] {
          if (target->alive) return;
          auto store = MemoryShardStore::recover(target->id, target->durable);
          if (!store.ok()) return fail("recover: " + store.status().ToString());
          target->store = std::make_unique<MemoryShardStore>(*std::move(store));
          log("restart " + std::to_string(target->id));
          boot(*target);
        });
      }
    }
  }

  // Healing phase: a clean network, every replica up; then wait for convergence.
  p_drop_ = 0;
  p_dup_ = 0;
  for (auto& [pair, l] : links_) l.cut = false;
  for (auto& n : nodes_) {
    if (n->alive) continue;
    auto store = MemoryShardStore::recover(n->id, n->durable);
    if (!store.ok()) {
      fail("recover: " + store.status().ToString());
      break;
    }
    n->store = std::make_unique<MemoryShardStore>(*std::move(store));
    log("restart " + std::to_string(n->id));
    boot(*n);
  }
  std::string why;
  const int64_t deadline = now_ + 300'000;
  while (result_.ok && !converged(&why)) {
    if (now_ >= deadline) {
      fail("no convergence 300 s after healing: " + why);
      break;
    }
    run_until(now_ + 250);
  }
  result_.converged_at_ms = now_;

  if (result_.ok) {
    const StateView expected = oracle_.expected();
    for (const auto& n : nodes_) {
      const StateView actual = crdt::testing::view_of(n->store->state());
      if (actual != expected) {
        fail("replica " + std::to_string(n->id) + " differs from the oracle\nexpected:\n" +
             crdt::testing::to_string(expected) + "actual:\n" + crdt::testing::to_string(actual));
        break;
      }
    }
  }
  for (const auto& n : nodes_) {
    result_.compacted += n->metrics.compacted;
    for (const auto& [peer, m] : n->metrics.peers) {
      result_.full_state_transfers += m.full_state_transfers;
      result_.full_states_received += m.full_states_received;
      result_.chunks += m.chunks_sent;
      result_.reconnects += m.reconnects;
      result_.retransmits += m.retransmits;
    }
  }
  if (result_.ok && options_.force_lagging_replica) {
    const auto& m = nodes_[0]->metrics.peers;
    uint64_t received = 0;
    for (const auto& [peer, pm] : m) received += pm.full_states_received;
    if (received == 0) fail("the lagging replica was never sent a full state");
  }
  (void)seed_;
  return result_;
}

}  // namespace

SimulationResult run_simulation(uint64_t seed, const SimulationOptions& options) {
  Simulation sim(seed, options);
  return sim.run();
}

}  // namespace meridian::replication::testing
