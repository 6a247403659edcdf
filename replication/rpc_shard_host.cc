// ShardHost: routes between one ShardReplicator and its peer sessions; see rpc_shard_host.h.
#include "replication/rpc_shard_host.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace meridian::replication {

ShardHost::ShardHost(crdt::ReplicaId self, ReplicatorOptions options, ShardStore& store,
                     kj::Timer& timer, PeerDialer& dialer, const RpcLimits& limits, uint64_t seed)
    : self_(self),
      options_(options),
      store_(store),
      timer_(timer),
      dialer_(dialer),
      limits_(limits),
      env_(timer, seed, *this),
      replicator_(self, std::move(options), store, env_, metrics_),
      tasks_(*this) {
  env_.set_timer_handler([this](const TimerEvent& event) { replicator_.on_timer(event); });
}

ShardHost::~ShardHost() noexcept {
  // Sessions first: their destructors touch transport_, and they must not outlive the host.
  for (auto& [peer, session] : sessions_) session->close();
  sessions_.clear();
}

void ShardHost::start(const std::vector<crdt::ReplicaId>& peers) {
  for (crdt::ReplicaId peer : peers) {
    if (peer != self_) peers_.insert(peer);
  }
  replicator_.start(peers);
}

void ShardHost::add_peer(crdt::ReplicaId peer) {
  if (peer == self_) return;
  peers_.insert(peer);
  replicator_.add_peer(peer);
}

void ShardHost::remove_peer(crdt::ReplicaId peer) {
  peers_.erase(peer);
  retire(peer);
  replicator_.remove_peer(peer);
}

bool ShardHost::session_connected(crdt::ReplicaId peer) const {
  auto it = sessions_.find(peer);
  return it != sessions_.end() && it->second->connected() && !it->second->failed();
}

bool ShardHost::current(const PeerSession& session) const {
  auto it = sessions_.find(session.peer());
  return it != sessions_.end() && it->second.get() == &session;
}

void ShardHost::retire(crdt::ReplicaId peer) {
  auto it = sessions_.find(peer);
  if (it == sessions_.end()) return;
  kj::Own<PeerSession> session = kj::mv(it->second);
  sessions_.erase(it);
  session->close();
  transport_[peer].session_open = false;
  tasks_.add(kj::evalLater([]() {}).attach(kj::mv(session)));
}

void ShardHost::send(crdt::ReplicaId to, PeerMessage message) {
  if (capture_for_ == to && std::holds_alternative<Hello>(message.body)) {
    captured_hello_ = std::move(message);
    return;
  }
  auto it = sessions_.find(to);
  if (it == sessions_.end()) {
    ++transport_[to].dropped_messages;
    return;
  }
  it->second->send(message);
}

void ShardHost::connect(crdt::ReplicaId peer) {
  // A session that exists (dialling, or accepted meanwhile) answers for itself.
  if (!peers_.contains(peer) || sessions_.contains(peer)) return;
  auto session = kj::heap<PeerSession>(peer, PeerSession::Origin::kDialled, *this, timer_, limits_,
                                       transport_[peer]);
  PeerSession& s = *session;
  sessions_.emplace(peer, kj::mv(session));
  transport_[peer].session_open = true;
  // evalNow: a dialer that throws becomes a failed dial, reported on a later turn.
  s.dial(kj::evalNow([this, peer]() { return dialer_.dial(peer); }));
}

void ShardHost::on_session_connected(PeerSession& session) {
  if (!current(session)) return;
  ++transport_[session.peer()].sessions_opened;
  replicator_.on_connected(session.peer());  // sends our Hello, which opens the session
}

absl::Status ShardHost::on_session_message(PeerSession& session, const PeerMessage& message) {
  if (!current(session)) return absl::UnavailableError("replication session replaced");
  if (message.from != session.peer() || message.shard != options_.shard) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer message from replica ", message.from, " of shard ", message.shard.collection, "/",
        message.shard.shard, " on the session of ", session.peer()));
  }
  replicator_.on_message(message);
  return absl::OkStatus();
}

void ShardHost::on_session_checkpoint(PeerSession& session, uint64_t joined_through) {
  if (!current(session)) return;
  replicator_.on_message(PeerMessage{options_.shard, session.peer(), DeltaAck{joined_through}});
}

void ShardHost::on_session_failed(PeerSession& session, const kj::Exception& reason) {
  if (!current(session)) return;
  const crdt::ReplicaId peer = session.peer();
  KJ_LOG(INFO, "replication session ended", self_, peer, reason.getDescription());
  retire(peer);
  replicator_.on_disconnected(peer);  // the replicator's backoff decides when to dial again
}

absl::StatusOr<ShardHost::Opened> ShardHost::open_inbound(
    const PeerMessage& their_hello, const std::function<kj::Own<PeerConnection>()>& take_connection,
    wire::DeltaSink::Client reply_sink) {
  const crdt::ReplicaId peer = their_hello.from;
  if (const auto* hello = std::get_if<Hello>(&their_hello.body);
      hello && hello->to != 0 && hello->to != self_) {
    return absl::NotFoundError(absl::StrCat("this is replica ", self_, ", not ", hello->to,
                                            " (the node at this address was replaced)"));
  }
  if (!peers_.contains(peer)) {
    return absl::NotFoundError(absl::StrCat("replica ", peer, " is not a peer of replica ", self_));
  }
  auto it = sessions_.find(peer);
  if (it != sessions_.end()) {
    if (it->second->origin() == PeerSession::Origin::kDialled && self_ < peer) {
      ++transport_[peer].sessions_refused;
      return absl::AlreadyExistsError(absl::StrCat(
          "replica ", self_, " keeps the session it dialled to ", peer, " (the lower id dials)"));
    }
    retire(peer);
    replicator_.on_disconnected(peer);
  }
  auto session = kj::heap<PeerSession>(peer, PeerSession::Origin::kAccepted, *this, timer_, limits_,
                                       transport_[peer]);
  PeerSession& s = *session;
  s.accept(take_connection(), kj::mv(reply_sink));
  sessions_.emplace(peer, kj::mv(session));
  transport_[peer].session_open = true;
  ++transport_[peer].sessions_opened;

  // Our Hello goes back as openSession's result rather than as a push.
  capture_for_ = peer;
  captured_hello_.reset();
  replicator_.on_connected(peer);
  capture_for_.reset();
  if (!captured_hello_) return absl::InternalError("replicator sent no Hello on connect");
  Opened opened{s.inbound_sink(), *std::move(captured_hello_)};
  replicator_.on_message(their_hello);
  return opened;
}

absl::StatusOr<PeerMessage> ShardHost::exchange(const PeerMessage& request) {
  const auto* body = std::get_if<Exchange>(&request.body);
  if (body == nullptr) return absl::InvalidArgumentError("exchange: not an Exchange message");
  if (!peers_.contains(request.from)) {
    return absl::NotFoundError(
        absl::StrCat("replica ", request.from, " is not a peer of replica ", self_));
  }
  PeerMessage joined = request;
  std::get<Exchange>(joined.body).reply_wanted = false;  // the answer is this call's result
  replicator_.on_message(joined);
  Exchange answer;
  answer.joined_through = store_.joined_through(request.from);
  answer.vv = store_.state().context().vv();
  PeerMessage reply;
  reply.shard = options_.shard;
  reply.from = self_;
  reply.body = std::move(answer);
  return reply;
}

void ShardHost::taskFailed(kj::Exception&& exception) {
  KJ_LOG(ERROR, "retiring a replication session failed", exception);
}

}  // namespace meridian::replication
