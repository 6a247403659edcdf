// PeerConnection and PeerSession; see rpc_peer.h. Every message crosses the wire codec's frame
// (encode_peer_message / decode_peer_message), so the RPC path checks peers exactly as the
// simulator does; the cost is one extra copy of each message.
#include "replication/rpc_peer.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "schema/rpc_status.h"

namespace meridian::replication {
namespace {

constexpr size_t kFrameHeaderBytes = 8;

// A frame's header as encode_peer_message writes it (wire_codec.h).
std::string frame_header() {
  std::string header = "MRPL";
  header.push_back(static_cast<char>(kWireVersion));
  header.append(3, '\0');
  return header;
}

// A frame we encoded ourselves, as a capnp reader (valid while this object lives).
class WireMessage {
 public:
  explicit WireMessage(const std::string& frame)
      : words_(
            kj::heapArray<capnp::word>((frame.size() - kFrameHeaderBytes) / sizeof(capnp::word))) {
    std::memcpy(words_.begin(), frame.data() + kFrameHeaderBytes,
                words_.size() * sizeof(capnp::word));
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words_.size() + 1;  // our own message: read it whole
    reader_.emplace(words_.asPtr(), options);
  }
  wire::PeerMessage::Reader get() {
    return KJ_ASSERT_NONNULL(reader_).getRoot<wire::PeerMessage>();
  }

 private:
  kj::Array<capnp::word> words_;
  kj::Maybe<capnp::FlatArrayMessageReader> reader_;
};

// Copies `fill`'s PeerMessage into a frame and decodes it with the wire codec.
template <typename Fill>
absl::StatusOr<PeerMessage> decode_via_frame(Fill&& fill, const WireLimits& limits) {
  std::string frame;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 capnp::MallocMessageBuilder copy;
                 fill(copy);
                 kj::Array<capnp::word> words = capnp::messageToFlatArray(copy);
                 frame = frame_header();
                 frame.append(reinterpret_cast<const char*>(words.begin()),
                              words.size() * sizeof(capnp::word));
               })) {
    return absl::DataLossError(absl::StrCat("peer message: ", exception->getDescription().cStr()));
  }
  return decode_peer_message(frame, limits);
}

}  // namespace

absl::StatusOr<PeerMessage> read_peer_hello(wire::Hello::Reader in, const WireLimits& limits) {
  return decode_via_frame(
      [&](capnp::MallocMessageBuilder& b) { b.initRoot<wire::PeerMessage>().setHello(in); },
      limits);
}

absl::StatusOr<PeerMessage> read_peer_exchange(wire::Exchange::Reader in,
                                               const WireLimits& limits) {
  return decode_via_frame(
      [&](capnp::MallocMessageBuilder& b) { b.initRoot<wire::PeerMessage>().setExchange(in); },
      limits);
}

void with_wire_message(const PeerMessage& message,
                       const std::function<void(wire::PeerMessage::Reader)>& use) {
  WireMessage wire_message(encode_peer_message(message));
  use(wire_message.get());
}

absl::StatusOr<PeerMessage> read_peer_message(wire::PeerMessage::Reader in,
                                              const WireLimits& limits) {
  return decode_via_frame([&](capnp::MallocMessageBuilder& b) { b.setRoot(in); }, limits);
}

// ---------------------------------------------------------------------------------------------

PeerConnection::PeerConnection(kj::Own<kj::AsyncIoStream> stream, capnp::rpc::twoparty::Side side,
                               const RpcLimits& limits, capnp::Capability::Client bootstrap)
    : stream_(kj::mv(stream)),
      network_(*stream_, side, reader_options(limits)),
      rpc_(side == capnp::rpc::twoparty::Side::SERVER
               ? capnp::makeRpcServer(network_, kj::mv(bootstrap))
               : capnp::makeRpcClient(network_)) {
  rpc_.setFlowLimit(limits.flow_limit_words);
  if (limits.send_buffer_bytes > 0) {
    // The stream window of Cap'n Proto 0.9.2 is SO_SNDBUF; a stream that is no socket keeps the
    // default window (64 KiB), so a failure here is harmless.
    const int bytes = limits.send_buffer_bytes;
    KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                   stream_->setsockopt(SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
                 })) {
      KJ_LOG(WARNING, "cannot set SO_SNDBUF on a peer connection", *exception);
    }
  }
}

capnp::ReaderOptions PeerConnection::reader_options(const RpcLimits& limits) {
  const ReaderLimits r = reader_limits(limits.wire);
  capnp::ReaderOptions options;
  options.traversalLimitInWords = r.traversal_limit_words;
  options.nestingLimit = r.nesting_limit;
  return options;
}

wire::Replicator::Client PeerConnection::peer_replicator() {
  capnp::word scratch[4];
  std::memset(scratch, 0, sizeof(scratch));
  capnp::MallocMessageBuilder message(scratch);
  auto vat = message.getRoot<capnp::rpc::twoparty::VatId>();
  vat.setSide(capnp::rpc::twoparty::Side::SERVER);
  return rpc_.bootstrap(vat).castAs<wire::Replicator>();
}

// ---------------------------------------------------------------------------------------------

// Shared by the session and the capabilities it exports, which the RPC system may keep alive
// after the session is gone.
struct PeerSession::Liveness : public kj::Refcounted {
  PeerSession* session;
  explicit Liveness(PeerSession* s) : session(s) {}
};

class PeerSession::InboundSink final : public wire::DeltaSink::Server {
 public:
  explicit InboundSink(kj::Own<Liveness> liveness) : liveness_(kj::mv(liveness)) {}

  kj::Promise<void> push(PushContext context) override {
    PeerSession& s = session();
    auto message = read_peer_message(context.getParams().getMessage(), s.limits_.wire);
    const absl::Status status =
        message.ok() ? s.owner_.on_session_message(s, *message) : message.status();
    if (status.ok()) return kj::READY_NOW;
    // A message this session must not carry: refuse it and drop the peer (it reconnects with
    // backoff). The push's error is sticky on the peer's stream.
    ++s.metrics_.protocol_errors;
    kj::Exception exception = status_to_exception(status);
    s.fail(kj::cp(exception));
    return kj::mv(exception);
  }

  kj::Promise<void> done(DoneContext context) override {
    PeerSession& s = session();
    context.getResults().setJoinedThrough(s.owner_.joined_through(s.peer_));
    return kj::READY_NOW;
  }

 private:
  PeerSession& session() {
    PeerSession* s = liveness_->session;
    if (s == nullptr || s->failed_) {
      kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "replication session closed"));
    }
    return *s;
  }

  kj::Own<Liveness> liveness_;
};

PeerSession::PeerSession(crdt::ReplicaId peer, Origin origin, SessionOwner& owner, kj::Timer& timer,
                         const RpcLimits& limits, PeerTransportMetrics& metrics)
    : peer_(peer),
      origin_(origin),
      owner_(owner),
      timer_(timer),
      limits_(limits),
      metrics_(metrics),
      liveness_(kj::refcounted<Liveness>(this)),
      tasks_(*this) {}

PeerSession::~PeerSession() noexcept {
  liveness_->session = nullptr;
  metrics_.queued_bytes -= std::min(metrics_.queued_bytes, queued_here_);
}

void PeerSession::dial(kj::Promise<kj::Own<kj::AsyncIoStream>> stream) {
  tasks_.add(timer_.timeoutAfter(limits_.connect_timeout_ms * kj::MILLISECONDS, kj::mv(stream))
                 .then([this](kj::Own<kj::AsyncIoStream>&& s) {
                   connection_ = kj::heap<PeerConnection>(
                       kj::mv(s), capnp::rpc::twoparty::Side::CLIENT, limits_, nullptr);
                   tasks_.add(connection_->on_disconnect().then(
                       [this]() { fail(KJ_EXCEPTION(DISCONNECTED, "peer connection lost")); }));
                   owner_.on_session_connected(*this);
                 }));
}

void PeerSession::accept(kj::Own<PeerConnection> connection, wire::DeltaSink::Client reply_sink) {
  connection_ = kj::mv(connection);
  outbound_ = kj::mv(reply_sink);
  opened_ = true;
  tasks_.add(connection_->on_disconnect().then(
      [this]() { fail(KJ_EXCEPTION(DISCONNECTED, "peer connection lost")); }));
}

wire::DeltaSink::Client PeerSession::inbound_sink() {
  return kj::heap<InboundSink>(kj::addRef(*liveness_));
}

void PeerSession::send(const PeerMessage& message) {
  if (failed_ || !connection_) {
    ++metrics_.dropped_messages;
    return;
  }
  if (!opened_) {
    // Dialled: the replicator's first message in a session is its Hello, which opens it.
    if (std::holds_alternative<Hello>(message.body)) return open(message);
    ++metrics_.dropped_messages;
    return;
  }
  std::string frame = encode_peer_message(message);
  if (queued_here_ > 0 && queued_here_ + frame.size() > limits_.max_queued_bytes) {
    // The window is shut and the queue full: drop. The replicator resends from the last ack.
    ++metrics_.dropped_messages;
    return;
  }
  queued_here_ += frame.size();
  metrics_.queued_bytes += frame.size();
  metrics_.max_queued_bytes = std::max(metrics_.max_queued_bytes, metrics_.queued_bytes);
  queue_.push_back(std::move(frame));
  pump();
}

void PeerSession::open(const PeerMessage& hello) {
  opened_ = true;
  auto request = connection_->peer_replicator().openSessionRequest();
  WireMessage wire_hello(encode_peer_message(hello));
  request.setHello(wire_hello.get().getHello());
  request.setReplySink(inbound_sink());
  auto response = request.send();
  outbound_ = response.getSink();  // pipelined: pushes may follow before the answer
  auto answered = response.then([this](capnp::Response<wire::Replicator::OpenSessionResults>&& r) {
    auto their_hello = read_peer_hello(r.getTheirHello(), limits_.wire);
    absl::Status status =
        their_hello.ok() ? owner_.on_session_message(*this, *their_hello) : their_hello.status();
    if (!status.ok()) {
      ++metrics_.protocol_errors;
      fail(status_to_exception(status));
    }
  });
  tasks_.add(timer_.timeoutAfter(limits_.connect_timeout_ms * kj::MILLISECONDS, kj::mv(answered))
                 .catch_([this](kj::Exception&& e) {
                   ++metrics_.dial_failures;
                   fail(kj::mv(e));
                 }));
  pump();
}

void PeerSession::pump() {
  wire::DeltaSink::Client* sink = nullptr;
  KJ_IF_MAYBE (s, outbound_) {
    sink = s;
  }
  if (sink == nullptr) return;
  while (window_open_ && !queue_.empty() && !failed_) {
    std::string frame = std::move(queue_.front());
    queue_.pop_front();
    queued_here_ -= frame.size();
    metrics_.queued_bytes -= frame.size();
    WireMessage message(frame);
    auto request = sink->pushRequest(capnp::MessageSize{frame.size() / sizeof(capnp::word) + 8, 0});
    request.setMessage(message.get());
    ++metrics_.pushes;
    metrics_.pushed_bytes += frame.size();
    ++pushes_since_checkpoint_;
    // One push at a time waits for the window: when the peer does not keep up, the RPC system's
    // promise stays pending and later messages wait in `queue_` (bounded) instead of in the
    // connection's write queue.
    window_open_ = false;
    auto window = request.send();
    note_network_queue();
    auto stalled = timer_.afterDelay(limits_.stall_timeout_ms * kj::MILLISECONDS)
                       .then([this]() -> kj::Promise<void> {
                         ++metrics_.stalls;
                         return KJ_EXCEPTION(DISCONNECTED, "peer stalled: stream window shut");
                       });
    tasks_.add(window.exclusiveJoin(kj::mv(stalled)).then([this]() {
      window_open_ = true;
      note_network_queue();
      pump();
    }));
  }
  if (window_open_ && queue_.empty()) checkpoint();
}

void PeerSession::checkpoint() {
  if (done_in_flight_ || pushes_since_checkpoint_ == 0 || failed_) return;
  KJ_IF_MAYBE (sink, outbound_) {
    done_in_flight_ = true;
    pushes_since_checkpoint_ = 0;
    tasks_.add(
        sink->doneRequest().send().then([this](capnp::Response<wire::DeltaSink::DoneResults>&& r) {
          done_in_flight_ = false;
          owner_.on_session_checkpoint(*this, r.getJoinedThrough());
          pump();
        }));
  }
}

void PeerSession::note_network_queue() {
  if (!connection_) return;
  metrics_.max_network_queue_bytes =
      std::max(metrics_.max_network_queue_bytes, connection_->network_queue_bytes());
}

void PeerSession::fail(kj::Exception reason) {
  if (failed_) return;
  failed_ = true;
  owner_.on_session_failed(*this, reason);
}

void PeerSession::taskFailed(kj::Exception&& exception) {
  if (origin_ == Origin::kDialled && !connection_) ++metrics_.dial_failures;
  fail(kj::mv(exception));
}

}  // namespace meridian::replication
