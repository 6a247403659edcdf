// The replication state machine. Delta shipping follows Algorithm 2 of Almeida et al. (every
// interval starts at the peer's acknowledgement, so any interval that arrives is safe to join and
// acknowledge); full-state transfer follows docs/replication.md ("Full-state transfer").
#include "replication/shard_replicator.h"

#include <algorithm>
#include <utility>

#include "crdt/point_set_codec.h"
#include "replication/state_slice.h"

namespace meridian::replication {

ShardReplicator::ShardReplicator(crdt::ReplicaId self, ReplicatorOptions options, ShardStore& store,
                                 Env& env, ReplicationMetrics& metrics)
    : self_(self), options_(std::move(options)), store_(store), env_(env), metrics_(metrics) {}

PeerMessage ShardReplicator::make(MessageBody body) const {
  return PeerMessage{options_.shard, self_, std::move(body)};
}

void ShardReplicator::send(crdt::ReplicaId to, MessageBody body) { env_.send(to, make(body)); }

Hello ShardReplicator::make_hello(crdt::ReplicaId peer, const Peer& p) const {
  Hello h;
  h.region = options_.region;
  h.joined_through = store_.joined_through(peer);
  h.vv = store_.state().context().vv();
  if (p.incoming) h.resume = TransferResume{p.incoming->id, p.incoming->next_cursor};
  h.want_reply = !p.established;
  h.to = peer;
  return h;
}

void ShardReplicator::start(const std::vector<crdt::ReplicaId>& peers) {
  for (crdt::ReplicaId peer : peers) add_peer(peer);
  if (!started_) {
    started_ = true;
    schedule_tick();
  }
}

void ShardReplicator::add_peer(crdt::ReplicaId peer) {
  if (peer == self_ || peers_.contains(peer)) return;
  Peer& p = peers_.emplace(peer, Peer(options_.backoff)).first->second;
  // Until its Hello tells us better, the peer is assumed to have nothing: compaction waits for it.
  if (!store_.log().has_peer(peer)) store_.log().add_peer(peer, 0);
  p.disconnected_since_ms = env_.now_ms();
  metrics_.peers[peer];
  env_.connect(peer);
}

void ShardReplicator::remove_peer(crdt::ReplicaId peer) {
  peers_.erase(peer);
  metrics_.peers.erase(peer);
  store_.log().remove_peer(peer);
  compact();
}

void ShardReplicator::schedule_tick() {
  // +-25% jitter keeps the replicas of a shard from exchanging in lock step.
  const int64_t quarter = std::max<int64_t>(options_.tick_ms / 4, 1);
  const int64_t delay =
      options_.tick_ms - quarter +
      static_cast<int64_t>(env_.random_u64() % static_cast<uint64_t>(2 * quarter));
  env_.schedule(std::max<int64_t>(delay, 1), TimerEvent{TimerEvent::Kind::kTick, 0, 0});
}

void ShardReplicator::schedule_reconnect(crdt::ReplicaId peer, Peer& p) {
  const int64_t delay = p.backoff.next_delay_ms(env_.random_u64());
  env_.schedule(delay, TimerEvent{TimerEvent::Kind::kReconnect, peer, p.generation});
}

void ShardReplicator::reset_window(Peer& p) {
  // Whatever was in flight is forgotten: the next interval starts at the acknowledgement again.
  p.in_flight.clear();
  p.bytes_in_flight = 0;
  p.sent_through = 0;
  p.last_progress_ms = env_.now_ms();
  if (p.outgoing) {
    p.outgoing->send_cursor = p.outgoing->acked_cursor;
    p.outgoing->sent_last = false;
  }
}

void ShardReplicator::on_connected(crdt::ReplicaId peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  p.connected = true;
  p.established = false;
  ++p.generation;  // cancels a pending reconnect timer
  metrics_.peers[peer].connected = true;
  send(peer, make_hello(peer, p));
}

void ShardReplicator::on_disconnected(crdt::ReplicaId peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  if (p.connected) p.disconnected_since_ms = env_.now_ms();
  p.connected = false;
  p.established = false;
  ++p.generation;
  reset_window(p);
  metrics_.peers[peer].connected = false;
  schedule_reconnect(peer, p);
}

void ShardReplicator::on_timer(const TimerEvent& event) {
  if (event.kind == TimerEvent::Kind::kTick) {
    tick();
    schedule_tick();
    return;
  }
  auto it = peers_.find(event.peer);
  if (it == peers_.end() || it->second.generation != event.generation) return;
  if (event.kind == TimerEvent::Kind::kResend) {
    pump(event.peer, it->second);
    update_lag(event.peer);
    return;
  }
  if (it->second.connected) return;
  env_.connect(event.peer);
}

void ShardReplicator::tick() {
  const int64_t now = env_.now_ms();
  for (auto& [peer, p] : peers_) {
    if (!p.connected) {
      // A long-dead peer stops pinning the log: it will be served a full state when it returns.
      if (options_.detach_after_ms > 0 && !p.detached &&
          now - p.disconnected_since_ms >= options_.detach_after_ms) {
        p.detached = true;
        p.outgoing.reset();
        p.incoming.reset();
        store_.log().remove_peer(peer);
        ++metrics_.detached_peers;
      }
      continue;
    }
    if (!p.established) {
      // Our Hello (or theirs) was lost: say it again.
      send(peer, make_hello(peer, p));
      continue;
    }
    const bool waiting = !p.in_flight.empty();
    if (waiting && !p.quarantined && now - p.last_progress_ms >= options_.ack_timeout_ms) {
      ++metrics_.peers[peer].retransmits;
      reset_window(p);
    }
    send(peer, Exchange{store_.joined_through(peer), store_.state().context().vv(), true});
    pump(peer, p);
  }
  compact();
  for (const auto& [peer, p] : peers_) update_lag(peer);
}

void ShardReplicator::on_local_commit(uint64_t seq) {
  commit_times_.emplace_back(seq, env_.now_ms());
  pump_all();
}

void ShardReplicator::pump_all() {
  for (auto& [peer, p] : peers_) pump(peer, p);
  for (const auto& [peer, p] : peers_) update_lag(peer);
}

void ShardReplicator::update_lag(crdt::ReplicaId peer) {
  auto acked = store_.log().acked(peer);
  PeerMetrics& m = metrics_.peers[peer];
  const uint64_t last = store_.log().last_seq();
  const uint64_t a = acked.ok() ? *acked : 0;
  m.lag_deltas = last > a ? last - a : 0;
  m.lag_ms = 0;
  for (const auto& [seq, ms] : commit_times_) {
    if (seq > a) {
      m.lag_ms = env_.now_ms() - ms;
      break;
    }
  }
}

void ShardReplicator::record_ack(crdt::ReplicaId peer, Peer& p, uint64_t seq) {
  crdt::DeltaLog& log = store_.log();
  if (!log.has_peer(peer)) {
    // A detached peer is back: it gates compaction again from where it says it is.
    log.add_peer(peer, seq);
    p.detached = false;
    return;
  }
  // Acks only move forward (DeltaLog ignores stale ones); one beyond our last seq is a peer that
  // talks about a log we no longer have, and is ignored.
  if (log.acknowledge(peer, seq).ok()) {
    if (seq > p.rejected_after) {
      // The peer joined past the interval it rejected: whatever was wrong is behind us.
      p.permanent_rejects = 0;
      p.resend_backoff.reset();
      p.hold_until_ms = 0;
      if (p.quarantined) {
        p.quarantined = false;
        metrics_.peers[peer].quarantined = false;
      }
    }
    while (!p.in_flight.empty() && !p.in_flight.front().last &&
           p.in_flight.front().through_seq != 0 && p.in_flight.front().through_seq <= seq) {
      p.bytes_in_flight -= p.in_flight.front().bytes;
      p.in_flight.pop_front();
      p.last_progress_ms = env_.now_ms();
    }
    if (p.outgoing && seq >= p.outgoing->through_seq) {
      p.outgoing.reset();
      reset_window(p);
    }
  }
}

void ShardReplicator::compact() {
  const size_t dropped = store_.log().compact();
  metrics_.compacted += dropped;
  const uint64_t horizon = store_.log().horizon();
  while (!commit_times_.empty() && commit_times_.front().first <= horizon) {
    commit_times_.pop_front();
  }
}

void ShardReplicator::pump(crdt::ReplicaId peer, Peer& p) {
  if (!p.established || p.quarantined) return;
  // After a reject, nothing goes out before the backoff pause ends (a kResend timer pumps then).
  if (env_.now_ms() < p.hold_until_ms) return;
  if (p.outgoing) return pump_transfer(peer, p);
  crdt::DeltaLog& log = store_.log();
  auto acked = log.acked(peer);
  if (!acked.ok()) return;
  const uint64_t last = log.last_seq();
  if (*acked >= last) return;  // up to date
  if (*acked < log.horizon()) {
    // Some delta the peer lacks was compacted away: only a full state is sure to cover it.
    reset_window(p);
    OutgoingTransfer t;
    t.id = env_.random_u64() | 1;  // never 0, which means "none"
    t.through_seq = last;
    t.snapshot = store_.state().context();
    auto bytes = context_only(t.snapshot);
    if (!bytes.ok()) return;
    t.snapshot_bytes = crdt::encode_point_set(*bytes);
    p.outgoing = std::move(t);
    ++metrics_.peers[peer].full_state_transfers;
    return pump_transfer(peer, p);
  }
  // Intervals follow each other: the next starts where the last one in flight ended (or at the
  // acknowledgement when none is), so no delta is sent twice while the window is open. A backlog
  // goes as several bounded intervals, as many as the window holds.
  while (true) {
    const uint64_t after = std::max(*acked, p.sent_through);
    if (last <= after) return;  // everything is in flight
    if (p.in_flight.size() >= options_.max_in_flight) {
      ++metrics_.peers[peer].backpressure_waits;
      return;
    }
    const uint64_t through = log.interval_end(after, options_.max_interval_points);
    auto delta = log.deltas_between(after, through);
    if (!delta.ok()) return;
    std::string bytes = crdt::encode_point_set(*delta);
    if (!p.in_flight.empty() && p.bytes_in_flight + bytes.size() > options_.max_bytes_in_flight) {
      ++metrics_.peers[peer].backpressure_waits;
      return;
    }
    if (p.in_flight.empty()) p.last_progress_ms = env_.now_ms();
    p.in_flight.push_back(InFlight{through, {}, false, bytes.size()});
    p.bytes_in_flight += bytes.size();
    p.sent_through = through;
    PeerMetrics& m = metrics_.peers[peer];
    m.bytes_sent += bytes.size();
    ++m.intervals_sent;
    send(peer, DeltaInterval{after, through, std::move(bytes)});
  }
}

void ShardReplicator::pump_transfer(crdt::ReplicaId peer, Peer& p) {
  OutgoingTransfer& t = *p.outgoing;
  while (!t.sent_last && p.in_flight.size() < options_.max_in_flight &&
         (p.in_flight.empty() || p.bytes_in_flight < options_.max_bytes_in_flight)) {
    // Slices read the live state: writes keep flowing while the transfer runs.
    auto slice = slice_state(store_.state(), t.snapshot, t.send_cursor, options_.max_chunk_bytes);
    if (!slice.ok()) return;
    FullStateChunk chunk;
    chunk.transfer_id = t.id;
    chunk.through_seq = t.through_seq;
    chunk.cursor = t.send_cursor;
    chunk.next_cursor = slice->next_cursor;
    chunk.last = slice->last;
    if (chunk.cursor.empty()) chunk.snapshot_context = t.snapshot_bytes;
    chunk.records = crdt::encode_point_set(slice->records);
    const size_t bytes = chunk.records.size() + chunk.snapshot_context.size();
    if (p.in_flight.empty()) p.last_progress_ms = env_.now_ms();
    p.in_flight.push_back(InFlight{0, chunk.next_cursor, chunk.last, bytes});
    p.bytes_in_flight += bytes;
    t.send_cursor = slice->next_cursor;
    t.sent_last = slice->last;
    PeerMetrics& m = metrics_.peers[peer];
    m.bytes_sent += bytes;
    ++m.chunks_sent;
    send(peer, std::move(chunk));
  }
}

void ShardReplicator::on_message(const PeerMessage& message) {
  auto it = peers_.find(message.from);
  if (message.shard != options_.shard || it == peers_.end()) {
    ++metrics_.rejected_messages;
    return;
  }
  std::visit([&](const auto& body) { handle(message.from, it->second, body); }, message.body);
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer& p, const Hello& m) {
  if (!p.connected) return;  // a Hello from a session that is already gone
  if (p.established) {
    // A repeated Hello: its sender may not have heard ours (it was lost), so answer when asked;
    // our answer asks for nothing, so Hellos never ping-pong.
    if (m.want_reply) send(from, make_hello(from, p));
    metrics_.peers[from].vv = m.vv;
    record_ack(from, p, m.joined_through);
    compact();
    return pump(from, p);
  }
  metrics_.peers[from].vv = m.vv;
  p.established = true;
  if (p.ever_established) ++metrics_.peers[from].reconnects;
  p.ever_established = true;
  p.backoff.reset();
  reset_window(p);
  if (m.want_reply) send(from, make_hello(from, p));
  record_ack(from, p, m.joined_through);
  // Resume the peer's partial transfer from where it says it is, or drop ours if it lost it.
  if (p.outgoing) {
    if (m.resume && m.resume->transfer_id == p.outgoing->id) {
      p.outgoing->acked_cursor = m.resume->next_cursor;
      p.outgoing->send_cursor = m.resume->next_cursor;
      p.outgoing->sent_last = false;
    } else {
      p.outgoing.reset();
    }
  }
  compact();
  pump(from, p);
  update_lag(from);
}

absl::Status ShardReplicator::apply(crdt::ReplicaId peer, const crdt::PointSet& delta,
                                    std::optional<uint64_t> seq) {
  const uint64_t before = store_.log().last_seq();
  if (absl::Status s = store_.apply(peer, delta, seq); !s.ok()) {
    ++metrics_.apply_errors;
    return s;
  }
  if (store_.log().last_seq() != before) {
    // The delta changed our state and was logged: forward it (transitive delivery).
    commit_times_.emplace_back(store_.log().last_seq(), env_.now_ms());
    pump_all();
  }
  return absl::OkStatus();
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer&, const DeltaInterval& m) {
  auto delta = crdt::decode_point_set(m.delta);
  if (!delta.ok() || m.through_seq < m.after_seq || m.through_seq == 0) {
    ++metrics_.rejected_messages;
    return;
  }
  if (m.through_seq <= store_.joined_through(from)) {
    // Everything in it is joined already (a duplicate): just repeat the acknowledgement.
    send(from, DeltaAck{store_.joined_through(from)});
    return;
  }
  if (m.after_seq > store_.joined_through(from)) {
    // A gap: an earlier interval was lost (or overtaken). Joining this one would be harmless for
    // the state, but joined_through could then not claim its seq. Drop it; the sender resends
    // from our acknowledgement after its ack timeout.
    send(from, DeltaAck{store_.joined_through(from)});
    return;
  }
  if (absl::Status s = apply(from, *delta, m.through_seq); !s.ok()) {
    // Tell the sender, so that it backs off, and stops for good when the content is invalid
    // here (InvalidArgument: resending the same bytes cannot help) rather than resend for ever.
    ++metrics_.rejects_sent;
    send(from,
         DeltaReject{m.after_seq, m.through_seq, s.code() == absl::StatusCode::kInvalidArgument,
                     std::string(s.message().substr(0, kMaxRejectReason))});
    return;
  }
  send(from, DeltaAck{store_.joined_through(from)});
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer& p, const DeltaReject& m) {
  auto acked = store_.log().acked(from);
  // Only the interval at the peer's acknowledgement can be rejected; anything else is stale.
  if (p.quarantined || !acked.ok() || m.after_seq != *acked) return;
  PeerMetrics& metrics = metrics_.peers[from];
  ++metrics.rejects_received;
  if (m.permanent) {
    p.permanent_rejects =
        p.permanent_rejects > 0 && p.rejected_after == m.after_seq ? p.permanent_rejects + 1 : 1;
  } else {
    p.permanent_rejects = 0;  // "in a row" means without a transient failure between
  }
  p.rejected_after = m.after_seq;
  reset_window(p);
  if (p.permanent_rejects >= std::max(options_.quarantine_after_rejects, 1)) {
    p.quarantined = true;
    metrics.quarantined = true;
    metrics.quarantine_reason = m.reason;
    ++metrics_.quarantines;
    if (options_.on_quarantine) options_.on_quarantine(from, m.reason);
    return;
  }
  // Resend from the acknowledgement after a backoff pause, not at once.
  const int64_t delay = p.resend_backoff.next_delay_ms(env_.random_u64());
  p.hold_until_ms = env_.now_ms() + delay;
  env_.schedule(delay, TimerEvent{TimerEvent::Kind::kResend, from, p.generation});
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer& p, const DeltaAck& m) {
  record_ack(from, p, m.through_seq);
  compact();
  pump(from, p);
  update_lag(from);
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer& p, const Exchange& m) {
  metrics_.peers[from].vv = m.vv;
  record_ack(from, p, m.joined_through);
  compact();
  if (m.reply_wanted) {
    send(from, Exchange{store_.joined_through(from), store_.state().context().vv(), false});
  }
  // Exactly what the peer lacks: the deltas after its durable position (or a full state).
  pump(from, p);
  update_lag(from);
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer& p, const FullStateChunk& m) {
  auto reply = [&](FullStateAck ack) { send(from, std::move(ack)); };
  if (m.transfer_id == 0) {
    ++metrics_.rejected_messages;
    return;
  }
  if (m.transfer_id == p.completed_incoming) {
    // A resend after our completion notice was lost.
    reply(FullStateAck{m.transfer_id, {}, true, false});
    send(from, DeltaAck{store_.joined_through(from)});
    return;
  }
  if (m.cursor.empty() && (!p.incoming || p.incoming->id != m.transfer_id)) {
    auto snapshot = crdt::decode_point_set(m.snapshot_context);
    if (!snapshot.ok() || !snapshot->records().empty()) {
      ++metrics_.rejected_messages;
      return;
    }
    p.incoming = IncomingTransfer{m.transfer_id, m.through_seq, snapshot->context(), {}, {}};
  }
  if (!p.incoming || p.incoming->id != m.transfer_id) {
    reply(FullStateAck{m.transfer_id, {}, false, true});
    return;
  }
  IncomingTransfer& in = *p.incoming;
  if (m.cursor != in.next_cursor) {
    // Out of order or duplicate: the sender goes back to what we expect when it times out.
    reply(FullStateAck{in.id, in.next_cursor, false, false});
    return;
  }
  auto records = crdt::decode_point_set(m.records);
  bool valid = records.ok() && (m.last || m.next_cursor > m.cursor);
  if (valid) {
    for (const auto& [id, record] : records->records()) {
      if (id < m.cursor || (!m.last && id >= m.next_cursor)) valid = false;
    }
  }
  std::set<crdt::Dot> dots;
  if (valid) {
    dots = version_dots(*records);
    for (const crdt::Dot& d : dots) {
      if (!in.snapshot.contains(d)) valid = false;
    }
  }
  if (!valid) {
    ++metrics_.rejected_messages;
    return;
  }
  // Joining a slice on its own only adds writes, so it happens at once; removals wait for the
  // closing delta, which needs every slice.
  if (!apply(from, *records, std::nullopt).ok()) return;
  // `p.incoming` may not have changed during apply (no re-entry), so `in` is still valid.
  in.received.insert(dots.begin(), dots.end());
  if (!m.last) {
    in.next_cursor = m.next_cursor;
    reply(FullStateAck{in.id, in.next_cursor, false, false});
    return;
  }
  auto closing = closing_delta(store_.state(), in.received, in.snapshot);
  if (!closing.ok()) {
    ++metrics_.apply_errors;
    return;
  }
  const uint64_t id = in.id;
  const uint64_t through = in.through_seq;
  if (!apply(from, *closing, through).ok()) return;
  p.incoming.reset();
  p.completed_incoming = id;
  ++metrics_.peers[from].full_states_received;
  reply(FullStateAck{id, {}, true, false});
  send(from, DeltaAck{store_.joined_through(from)});
}

void ShardReplicator::handle(crdt::ReplicaId from, Peer& p, const FullStateAck& m) {
  if (!p.outgoing || p.outgoing->id != m.transfer_id) return;
  OutgoingTransfer& t = *p.outgoing;
  if (m.unknown) {
    // The receiver lost the transfer (it restarted): begin again.
    t.acked_cursor.clear();
    reset_window(p);
    return pump(from, p);
  }
  if (m.complete) {
    // The DeltaAck that follows ends the transfer; until then nothing more to send.
    return;
  }
  if (m.next_cursor > t.acked_cursor) {
    t.acked_cursor = m.next_cursor;
    while (!p.in_flight.empty() && !p.in_flight.front().last &&
           p.in_flight.front().next_cursor <= t.acked_cursor) {
      p.bytes_in_flight -= p.in_flight.front().bytes;
      p.in_flight.pop_front();
      p.last_progress_ms = env_.now_ms();
    }
  }
  pump_transfer(from, p);
}

std::optional<TransferResume> ShardReplicator::incoming_transfer(crdt::ReplicaId peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.incoming) return std::nullopt;
  return TransferResume{it->second.incoming->id, it->second.incoming->next_cursor};
}

bool ShardReplicator::established(crdt::ReplicaId peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.established;
}

}  // namespace meridian::replication
