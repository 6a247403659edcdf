// ReplicationEndpoint: accept loop and the Replicator bootstrap of each accepted connection; see
// rpc_endpoint.h. Errors from peers are raised as KJ exceptions through schema/rpc_status.h.
#include "replication/rpc_endpoint.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "schema/rpc_status.h"

namespace meridian::replication {
namespace {
// How long a connection that sent a corrupt Hello stays open for the error to reach the peer.
constexpr kj::Duration kErrorGrace = 500 * kj::MILLISECONDS;
}  // namespace

struct ReplicationEndpoint::Liveness : public kj::Refcounted {
  ReplicationEndpoint* endpoint;
  explicit Liveness(ReplicationEndpoint* e) : endpoint(e) {}
};

// The bootstrap of one accepted connection. It opens at most one session: the connection then
// belongs to that session (and is closed with it).
class ReplicationEndpoint::ReplicatorServer final : public wire::Replicator::Server {
 public:
  ReplicatorServer(kj::Own<Liveness> liveness, uint64_t connection)
      : liveness_(kj::mv(liveness)), connection_(connection) {}

  kj::Promise<void> openSession(OpenSessionContext context) override {
    ReplicationEndpoint& e = endpoint();
    if (opened_) {
      refuse(e, absl::FailedPreconditionError("one replication session per connection"));
    }
    auto params = context.getParams();
    auto hello = read_peer_hello(params.getHello(), e.limits_.wire);
    if (!hello.ok()) {
      // Answer the error, then close the connection a little later (closing it at once would
      // lose the answer).
      e.tasks_.add(e.timer_.afterDelay(kErrorGrace).then([&e, id = connection_]() {
        e.drop_connection(id);
      }));
      refuse(e, hello.status());
    }
    ShardHost* host = e.find_shard(hello->shard);
    if (host == nullptr) {
      refuse(e, absl::NotFoundError(absl::StrCat("no replica of shard ", hello->shard.collection,
                                                 "/", hello->shard.shard, " here")));
    }
    if (!e.connections_.contains(connection_)) {
      refuse(e, absl::UnavailableError("replication connection already closed"));
    }
    auto opened = host->open_inbound(
        *hello, [&]() { return e.take_connection(connection_); }, params.getReplySink());
    if (!opened.ok()) refuse(e, opened.status());
    opened_ = true;
    auto results = context.getResults();
    results.setSink(kj::mv(opened->sink));
    with_wire_message(opened->hello,
                      [&](wire::PeerMessage::Reader m) { results.setTheirHello(m.getHello()); });
    return kj::READY_NOW;
  }

  kj::Promise<void> exchange(ExchangeContext context) override {
    ReplicationEndpoint& e = endpoint();
    auto request = read_peer_exchange(context.getParams().getRequest(), e.limits_.wire);
    if (!request.ok()) refuse(e, request.status());
    ShardHost* host = e.find_shard(request->shard);
    if (host == nullptr) refuse(e, absl::NotFoundError("no replica of that shard here"));
    auto reply = host->exchange(*request);
    if (!reply.ok()) refuse(e, reply.status());
    with_wire_message(*reply, [&](wire::PeerMessage::Reader m) {
      context.getResults().setReply(m.getExchange());
    });
    return kj::READY_NOW;
  }

  kj::Promise<void> gossip(GossipContext context) override {
    ReplicationEndpoint& e = endpoint();
    if (!e.gossip_handler_) refuse(e, absl::UnimplementedError("this node does not gossip"));
    auto message = context.getParams().getMessage();
    auto reply = e.gossip_handler_(
        std::string_view(reinterpret_cast<const char*>(message.begin()), message.size()));
    if (!reply.ok()) refuse(e, reply.status());
    context.getResults().setReply(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(reply->data()), reply->size()));
    return kj::READY_NOW;
  }

 private:
  ReplicationEndpoint& endpoint() {
    if (liveness_->endpoint == nullptr) {
      kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "replication endpoint closed"));
    }
    return *liveness_->endpoint;
  }
  [[noreturn]] static void refuse(ReplicationEndpoint& e, const absl::Status& status) {
    ++e.metrics_.refused_calls;
    throw_status(status);
  }

  kj::Own<Liveness> liveness_;
  uint64_t connection_;
  bool opened_ = false;
};

ReplicationEndpoint::ReplicationEndpoint(kj::Timer& timer, PeerDialer& dialer, RpcLimits limits,
                                         PeerTls* tls)
    : timer_(timer),
      dialer_(dialer),
      limits_(limits),
      tls_(tls),
      liveness_(kj::refcounted<Liveness>(this)),
      tasks_(*this) {}

ReplicationEndpoint::~ReplicationEndpoint() noexcept {
  liveness_->endpoint = nullptr;
  // Connections before shards: a connection's capabilities may point into a shard's sessions.
  connections_.clear();
  shards_.clear();
}

void ReplicationEndpoint::listen(kj::Own<kj::ConnectionReceiver> receiver) {
  receiver_ = kj::mv(receiver);
  tasks_.add(accept_loop());
}

unsigned ReplicationEndpoint::port() { return receiver_ ? receiver_->getPort() : 0; }

ShardHost& ReplicationEndpoint::add_shard(crdt::ReplicaId self, ReplicatorOptions options,
                                          ShardStore& store, uint64_t seed) {
  const ShardRef shard = options.shard;
  auto host =
      std::make_unique<ShardHost>(self, std::move(options), store, timer_, dialer_, limits_, seed);
  ShardHost& ref = *host;
  KJ_REQUIRE(shards_.emplace(shard, std::move(host)).second, "shard served twice");
  return ref;
}

ShardHost* ReplicationEndpoint::find_shard(const ShardRef& shard) {
  auto it = shards_.find(shard);
  return it == shards_.end() ? nullptr : it->second.get();
}

void ReplicationEndpoint::remove_shard(const ShardRef& shard) {
  // At once, so that nothing of the shard (timers, sessions) can reach its store afterwards.
  shards_.erase(shard);
}

namespace {

// Whether a failed server-side handshake ended because the client closed its end: kj-tls reports
// that as DISCONNECTED, except that OpenSSL 3 may report it as an "unexpected eof" error.
bool client_hung_up(const kj::Exception& e) {
  if (e.getType() == kj::Exception::Type::DISCONNECTED) return true;
  return absl::StrContains(absl::AsciiStrToLower(e.getDescription().cStr()), "unexpected eof");
}

}  // namespace

kj::Promise<void> ReplicationEndpoint::accept_loop() {
  return receiver_->accept().then([this](kj::Own<kj::AsyncIoStream>&& stream) {
    ++metrics_.accepted;
    if (tls_ == nullptr) {
      serve(kj::mv(stream));
      return accept_loop();
    }
    // The handshake runs beside the accept loop (kj's wrapPort would handshake inside accept(),
    // so one slow or refused client would stall or end the loop), bounded like a dial.
    // evalNow: a handshake that cannot even start (OpenSSL out of memory) is one refusal too.
    tasks_.add(kj::evalNow([&]() { return tls_->wrap_server(kj::mv(stream)); })
                   .exclusiveJoin(timer_.afterDelay(limits_.connect_timeout_ms * kj::MILLISECONDS)
                                      .then([]() -> kj::Promise<kj::Own<kj::AsyncIoStream>> {
                                        return KJ_EXCEPTION(FAILED, "TLS handshake timed out");
                                      }))
                   .then([this](kj::Own<kj::AsyncIoStream>&& secured) { serve(kj::mv(secured)); },
                         [this](kj::Exception&& e) {
                           if (client_hung_up(e)) {
                             // Not a refusal: a dialer that gave up (its own timeout, a
                             // duplicate dial it dropped, a restart) closes mid-handshake.
                             ++metrics_.tls_abandoned;
                             return;
                           }
                           ++metrics_.tls_refused;
                           if (refusal_handler_) {
                             refusal_handler_(
                                 absl::StrCat("peer connection refused at the TLS handshake: ",
                                              e.getDescription().cStr()));
                           }
                         }));
    return accept_loop();
  });
}

void ReplicationEndpoint::serve(kj::Own<kj::AsyncIoStream> stream) {
  const uint64_t id = next_connection_++;
  auto connection =
      kj::heap<PeerConnection>(kj::mv(stream), capnp::rpc::twoparty::Side::SERVER, limits_,
                               kj::heap<ReplicatorServer>(kj::addRef(*liveness_), id));
  // Until a session takes it, the endpoint owns the connection: it goes when the peer
  // disconnects (an oversized or corrupt RPC message ends it too) or opens no session in time.
  auto forget = [this, id]() {
    connections_.erase(id);
    metrics_.pending_connections = connections_.size();
  };
  tasks_.add(connection->on_disconnect().then([forget]() { forget(); },
                                              [forget](kj::Exception&&) { forget(); }));
  tasks_.add(timer_.afterDelay(limits_.connect_timeout_ms * kj::MILLISECONDS).then([this, id]() {
    if (connections_.contains(id)) {
      ++metrics_.idle_dropped;
      drop_connection(id);
    }
  }));
  connections_.emplace(id, kj::mv(connection));
  metrics_.pending_connections = connections_.size();
}

kj::Own<PeerConnection> ReplicationEndpoint::take_connection(uint64_t id) {
  auto it = connections_.find(id);
  KJ_REQUIRE(it != connections_.end(), "replication connection already closed");
  kj::Own<PeerConnection> connection = kj::mv(it->second);
  connections_.erase(it);
  metrics_.pending_connections = connections_.size();
  return connection;
}

void ReplicationEndpoint::drop_connection(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  kj::Own<PeerConnection> connection = kj::mv(it->second);
  connections_.erase(it);
  metrics_.pending_connections = connections_.size();
  tasks_.add(kj::evalLater([]() {}).attach(kj::mv(connection)));
}

void ReplicationEndpoint::taskFailed(kj::Exception&& exception) {
  KJ_LOG(WARNING, "replication endpoint task failed", exception);
}

}  // namespace meridian::replication
