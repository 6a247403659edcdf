// The transport-free replication state machine of one shard replica: streams its deltas to every
// peer replica under a bounded window, applies theirs, runs anti-entropy and full-state transfers,
// and asks for reconnects with backoff. Messages, timers, clock and randomness go through Env.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crdt/causal_context.h"
#include "replication/backoff.h"
#include "replication/peer_message.h"
#include "replication/shard_store.h"

namespace meridian::replication {

// What a timer is for; the Env hands it back unchanged to on_timer().
struct TimerEvent {
  enum class Kind {
    kTick,       // periodic anti-entropy, retransmission and dead-peer checks
    kReconnect,  // backoff to `peer` elapsed: ask the transport to connect again
    kResend,     // the pause after `peer` rejected an interval elapsed: send again
  };
  Kind kind = Kind::kTick;
  crdt::ReplicaId peer = 0;
  uint64_t generation = 0;  // a stale timer (older generation) is ignored
  bool operator==(const TimerEvent&) const = default;
};

// Everything the state machine needs from the outside world. Implementations: the Cap'n Proto
// adapter (a real clock, KJ timers) and the simulator (simulated everything). Calls never re-enter
// the replicator: send/schedule/connect only queue work that is delivered later.
class Env {
 public:
  virtual ~Env() = default;
  virtual int64_t now_ms() = 0;
  virtual uint64_t random_u64() = 0;
  // Best effort: a message to a peer that is not connected may be dropped.
  virtual void send(crdt::ReplicaId to, PeerMessage message) = 0;
  virtual void schedule(int64_t delay_ms, TimerEvent event) = 0;
  // Asks the transport to open a connection; it answers with on_connected or on_disconnected.
  virtual void connect(crdt::ReplicaId peer) = 0;
};

struct ReplicatorOptions {
  ShardRef shard;
  std::string region;
  // Back-pressure per peer: at most this many un-acknowledged intervals (or state chunks) and, when
  // more than one, at most this many bytes of them in flight. A single bigger interval may go out
  // alone, so a peer always makes progress.
  size_t max_in_flight = 4;
  size_t max_bytes_in_flight = 4u << 20;
  size_t max_chunk_bytes = 256u << 10;  // target size of a full-state chunk
  // Points per delta interval (at least one whole delta): bounds the work of one apply and the
  // bytes a lost interval costs, and lets a backlog flow as a pipelined window of intervals.
  size_t max_interval_points = 2048;
  int64_t tick_ms = 1000;         // anti-entropy period (jittered by +-25%)
  int64_t ack_timeout_ms = 3000;  // no ack progress this long: resend from the last ack
  // A peer disconnected this long stops gating log compaction (it gets a full state when back),
  // so a dead peer costs bounded memory. 0 disables detaching.
  int64_t detach_after_ms = 60'000;
  // Reconnects, and resends after a peer rejected an interval, back off by this policy.
  BackoffPolicy backoff;
  // A peer that rejects the interval at its acknowledgement as invalid (DeltaReject.permanent)
  // this many times in a row gets no more of our stream: it is quarantined (see
  // PeerMetrics::quarantined) until its acknowledgement moves past that interval or this
  // replicator restarts. Transient rejects never quarantine. At least 1.
  int quarantine_after_rejects = 3;
  // Told once per quarantine (peer, the peer's reason), for the node's log. May be empty.
  std::function<void(crdt::ReplicaId peer, const std::string& reason)> on_quarantine;
};

// Per-peer metrics, owned by the caller (ReplicationMetrics::peers).
struct PeerMetrics {
  bool connected = false;
  uint64_t lag_deltas = 0;  // our deltas the peer has not acknowledged
  int64_t lag_ms = 0;       // age of the oldest of them (0 when none)
  uint64_t bytes_sent = 0;  // crdt payload bytes sent (intervals and chunks)
  uint64_t intervals_sent = 0;
  uint64_t chunks_sent = 0;
  uint64_t full_state_transfers = 0;  // transfers started to this peer
  uint64_t full_states_received = 0;  // transfers from this peer completed here
  uint64_t reconnects = 0;            // sessions opened after the first
  uint64_t retransmits = 0;           // windows resent after ack_timeout_ms
  uint64_t backpressure_waits = 0;    // sends held because the window was full
  uint64_t rejects_received = 0;      // our intervals the peer could not join (DeltaReject)
  // Our stream to the peer stopped: it rejected the same interval as invalid
  // quarantine_after_rejects times in a row. Its reason is the peer's last error.
  bool quarantined = false;
  std::string quarantine_reason;
  // The peer's causal token (the version vector of its durable state) as of its last Hello or
  // Exchange: what it is known to hold (a shard hand-off waits until it covers ours).
  crdt::VersionVector vv;
};

struct ReplicationMetrics {
  std::map<crdt::ReplicaId, PeerMetrics> peers;
  uint64_t rejected_messages = 0;  // wrong shard, unknown peer, undecodable payload
  uint64_t apply_errors = 0;       // ShardStore::apply failed (nothing acknowledged)
  uint64_t rejects_sent = 0;       // DeltaReject answers to intervals we could not join
  uint64_t quarantines = 0;        // peer streams quarantined since start
  uint64_t compacted = 0;          // log entries dropped by compaction
  uint64_t detached_peers = 0;
};

// Not thread-safe: every entry point runs on the shard's one loop. `store`, `env` and `metrics`
// must outlive the replicator. No entry point fails: bad input from peers is counted in metrics
// and dropped, never trusted and never fatal.
class ShardReplicator {
 public:
  ShardReplicator(crdt::ReplicaId self, ReplicatorOptions options, ShardStore& store, Env& env,
                  ReplicationMetrics& metrics);

  // Registers the shard's other replicas, asks to connect to each and starts the periodic tick.
  void start(const std::vector<crdt::ReplicaId>& peers);
  // Membership changes (a new replica; a fenced removal).
  void add_peer(crdt::ReplicaId peer);
  void remove_peer(crdt::ReplicaId peer);

  // The store committed local delta(s) through `seq`: stream them.
  void on_local_commit(uint64_t seq);
  void on_message(const PeerMessage& message);
  void on_timer(const TimerEvent& event);
  void on_connected(crdt::ReplicaId peer);
  // A session ended, or a connect attempt failed.
  void on_disconnected(crdt::ReplicaId peer);

  // The incoming transfer from `peer` in progress, if any (for tests and status pages).
  std::optional<TransferResume> incoming_transfer(crdt::ReplicaId peer) const;
  bool established(crdt::ReplicaId peer) const;
  crdt::ReplicaId id() const { return self_; }

 private:
  struct InFlight {
    uint64_t through_seq = 0;  // intervals
    std::string next_cursor;   // chunks
    bool last = false;         // chunks
    size_t bytes = 0;
  };
  // Sender side of a full-state transfer to one peer.
  struct OutgoingTransfer {
    uint64_t id = 0;
    uint64_t through_seq = 0;
    crdt::CausalContext snapshot;
    std::string snapshot_bytes;
    std::string acked_cursor;  // the receiver holds everything before it
    std::string send_cursor;   // the next chunk to send starts here
    bool sent_last = false;
  };
  // Receiver side.
  struct IncomingTransfer {
    uint64_t id = 0;
    uint64_t through_seq = 0;
    crdt::CausalContext snapshot;
    std::string next_cursor;
    std::set<crdt::Dot> received;  // dots the chunks delivered (closing_delta needs them)
  };
  struct Peer {
    bool connected = false;
    bool established = false;  // connected and their Hello received in this session
    bool ever_established = false;
    bool detached = false;  // removed from the log's compaction gate
    int64_t disconnected_since_ms = 0;
    uint64_t generation = 0;
    Backoff backoff;
    std::deque<InFlight> in_flight;
    size_t bytes_in_flight = 0;
    uint64_t sent_through = 0;
    int64_t last_progress_ms = 0;
    std::optional<OutgoingTransfer> outgoing;
    std::optional<IncomingTransfer> incoming;
    uint64_t completed_incoming = 0;  // id of the last transfer completed here (0: none)
    // Rejects of our interval at the peer's acknowledgement: the pause before resending, and
    // how many permanent rejects of the interval after `rejected_after` came in a row.
    Backoff resend_backoff;
    int64_t hold_until_ms = 0;
    uint64_t rejected_after = 0;
    int permanent_rejects = 0;
    bool quarantined = false;
    explicit Peer(BackoffPolicy policy) : backoff(policy), resend_backoff(policy) {}
  };

  PeerMessage make(MessageBody body) const;
  Hello make_hello(crdt::ReplicaId peer, const Peer& p) const;
  void send(crdt::ReplicaId to, MessageBody body);
  void schedule_tick();
  void schedule_reconnect(crdt::ReplicaId peer, Peer& p);
  void reset_window(Peer& p);
  // Records that `peer` joined our log through `seq` (ignores stale or impossible values).
  void record_ack(crdt::ReplicaId peer, Peer& p, uint64_t seq);
  void compact();
  // Sends whatever `peer` lacks that the window allows.
  void pump(crdt::ReplicaId peer, Peer& p);
  void pump_transfer(crdt::ReplicaId peer, Peer& p);
  void pump_all();
  void update_lag(crdt::ReplicaId peer);

  void handle(crdt::ReplicaId from, Peer& p, const Hello& m);
  void handle(crdt::ReplicaId from, Peer& p, const DeltaInterval& m);
  void handle(crdt::ReplicaId from, Peer& p, const DeltaAck& m);
  void handle(crdt::ReplicaId from, Peer& p, const Exchange& m);
  void handle(crdt::ReplicaId from, Peer& p, const FullStateChunk& m);
  void handle(crdt::ReplicaId from, Peer& p, const FullStateAck& m);
  void handle(crdt::ReplicaId from, Peer& p, const DeltaReject& m);
  // Joins `delta` from `peer` durably; forwards to the other peers if it changed the state.
  absl::Status apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                     std::optional<uint64_t> seq);
  void tick();

  crdt::ReplicaId self_;
  ReplicatorOptions options_;
  ShardStore& store_;
  Env& env_;
  ReplicationMetrics& metrics_;
  std::map<crdt::ReplicaId, Peer> peers_;  // ordered: every loop over peers is deterministic
  std::deque<std::pair<uint64_t, int64_t>> commit_times_;  // (seq, ms) of un-compacted seqs
  bool started_ = false;
};

}  // namespace meridian::replication
