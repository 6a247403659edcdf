// One replication session with one peer over Cap'n Proto: the connection (TwoPartyVatNetwork +
// RpcSystem with explicit limits), the outbound DeltaSink stream under its window, and the inbound
// DeltaSink server that hands received messages to the session's owner (the shard host).
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "replication/peer_message.h"
#include "replication/wire_codec.h"
#include "schema/replication.capnp.h"

namespace meridian::replication {

namespace wire = ::meridian::rpc::repl;

// Limits of every peer connection (CONVENTIONS: ReaderOptions and flow limit set explicitly).
struct RpcLimits {
  // ReaderOptions of every RPC message read from a peer, and the decode limits of the PeerMessage
  // inside. A bigger message drops the connection.
  WireLimits wire;
  // RpcSystem::setFlowLimit: un-returned inbound calls (words) before we stop reading a peer.
  size_t flow_limit_words = size_t{8} << 20;
  // Outbound messages held per session while the stream window is shut; beyond it (bytes of
  // encoded frames) new messages are dropped, which the replicator tolerates (it retransmits).
  size_t max_queued_bytes = size_t{4} << 20;
  // SO_SNDBUF of peer sockets, which Cap'n Proto 0.9.2 uses as the stream window. 0: the kernel's
  // (auto-tuned) size.
  int send_buffer_bytes = 0;
  int64_t connect_timeout_ms = 10'000;  // dial plus openSession
  // The stream window stayed shut this long: the peer is not reading; drop the session.
  int64_t stall_timeout_ms = 60'000;
};

// Per-peer transport figures, owned by the shard host (ShardHost::transport_metrics).
struct PeerTransportMetrics {
  bool session_open = false;  // a session (dialled or accepted) exists
  uint64_t sessions_opened = 0;
  uint64_t sessions_refused = 0;       // inbound sessions refused by the one-session rule
  uint64_t dial_failures = 0;          // dials or openSession calls that failed
  uint64_t protocol_errors = 0;        // refused pushes (undecodable, wrong sender or shard)
  uint64_t stalls = 0;                 // sessions dropped after stall_timeout_ms of a shut window
  uint64_t pushes = 0;                 // DeltaSink.push calls handed to the RPC system
  uint64_t pushed_bytes = 0;           // their frame bytes
  uint64_t dropped_messages = 0;       // adapter queue full, or no open session
  size_t queued_bytes = 0;             // adapter queue now
  size_t max_queued_bytes = 0;         // its high-water mark
  size_t max_network_queue_bytes = 0;  // high-water mark of TwoPartyVatNetwork's write queue
};

// A capnp PeerMessage (from a peer) as a value, through the wire codec (one decoder, one set of
// checks). A malformed reader is DataLoss, never an exception.
absl::StatusOr<PeerMessage> read_peer_message(wire::PeerMessage::Reader in,
                                              const WireLimits& limits);
// The same for a Hello or Exchange struct on its own (openSession, exchange).
absl::StatusOr<PeerMessage> read_peer_hello(wire::Hello::Reader in, const WireLimits& limits);
absl::StatusOr<PeerMessage> read_peer_exchange(wire::Exchange::Reader in, const WireLimits& limits);
// Encodes `message` (ours) and hands `use` its capnp view, valid during the call only.
void with_wire_message(const PeerMessage& message,
                       const std::function<void(wire::PeerMessage::Reader)>& use);

// A byte stream to a peer with its TwoPartyVatNetwork and RpcSystem. The server side offers
// `bootstrap`; the client side offers nothing. Not thread-safe. Destroying it closes the stream.
class PeerConnection {
 public:
  PeerConnection(kj::Own<kj::AsyncIoStream> stream, capnp::rpc::twoparty::Side side,
                 const RpcLimits& limits, capnp::Capability::Client bootstrap);

  // The other side's bootstrap capability (the peer's Replicator, when we dialled).
  wire::Replicator::Client peer_replicator();
  // Resolves (or rejects) when the connection is lost.
  kj::Promise<void> on_disconnect() { return network_.onDisconnect(); }
  // Bytes of outgoing messages waiting in memory to be written to the socket.
  size_t network_queue_bytes() { return network_.getCurrentQueueSize(); }

 private:
  static capnp::ReaderOptions reader_options(const RpcLimits& limits);

  kj::Own<kj::AsyncIoStream> stream_;
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc_;
};

class PeerSession;

// What a session reports to (the shard host). Calls come from the event loop, never from inside
// another call into the owner.
class SessionOwner {
 public:
  virtual ~SessionOwner() = default;
  // A dialled session's connection is up: the owner tells the replicator (which sends a Hello).
  virtual void on_session_connected(PeerSession& session) = 0;
  // A message from the peer. A non-OK status (wrong sender or shard) fails the push and the
  // session.
  virtual absl::Status on_session_message(PeerSession& session, const PeerMessage& message) = 0;
  // The owner's durable position in the peer's log (the answer to DeltaSink.done).
  virtual uint64_t joined_through(crdt::ReplicaId peer) = 0;
  // Our DeltaSink.done returned: the peer durably joined our log through `joined_through`.
  virtual void on_session_checkpoint(PeerSession& session, uint64_t joined_through) = 0;
  // The session is over (lost, refused, failed or stalled). Called at most once; the owner then
  // destroys the session, but not from inside this call.
  virtual void on_session_failed(PeerSession& session, const kj::Exception& reason) = 0;
};

// One session with one peer for one shard, over its own connection. Outbound, messages become
// DeltaSink.push streaming calls; each waits for the previous push's window promise, so at most
// the stream window (SO_SNDBUF + two messages, Cap'n Proto 0.9.2) is un-acknowledged in the RPC
// layer, and at most RpcLimits::max_queued_bytes waits here. An idle stream is checkpointed with
// DeltaSink.done, which surfaces a failed push and carries the peer's durable ack.
//
// Not thread-safe. `owner`, `timer`, `limits` and `metrics` must outlive the session. Destroying
// the session cancels its work and closes its connection; the capabilities it exported then
// answer DISCONNECTED.
class PeerSession : private kj::TaskSet::ErrorHandler {
 public:
  enum class Origin { kDialled, kAccepted };

  PeerSession(crdt::ReplicaId peer, Origin origin, SessionOwner& owner, kj::Timer& timer,
              const RpcLimits& limits, PeerTransportMetrics& metrics);
  ~PeerSession() noexcept;
  PeerSession(const PeerSession&) = delete;
  PeerSession& operator=(const PeerSession&) = delete;

  // Dialled: waits for `stream` (bounded by connect_timeout_ms), then reports
  // on_session_connected. The first message sent afterwards must be our Hello: it opens the
  // session (Replicator.openSession), with our inbound sink as the reply sink.
  void dial(kj::Promise<kj::Own<kj::AsyncIoStream>> stream);
  // Accepted: the peer's openSession arrived on `connection`; our messages go to `reply_sink`.
  void accept(kj::Own<PeerConnection> connection, wire::DeltaSink::Client reply_sink);
  // A new capability for the peer's messages to us (openSession's result or reply sink).
  wire::DeltaSink::Client inbound_sink();

  // Sends (queues) a message; dropped (counted) when the session is not open or the queue full.
  void send(const PeerMessage& message);
  // Fails the session (once): the owner hears on_session_failed.
  void fail(kj::Exception reason);
  // Stops the session without telling the owner (it replaced or removed the session itself).
  void close() { failed_ = true; }

  crdt::ReplicaId peer() const { return peer_; }
  Origin origin() const { return origin_; }
  // The connection is up (dialled: the stream is connected; accepted: always).
  bool connected() const { return connection_.get() != nullptr; }
  bool failed() const { return failed_; }

 private:
  class InboundSink;
  struct Liveness;

  void open(const PeerMessage& hello);
  void pump();
  void checkpoint();
  void note_network_queue();
  void taskFailed(kj::Exception&& exception) override;

  crdt::ReplicaId peer_;
  Origin origin_;
  SessionOwner& owner_;
  kj::Timer& timer_;
  const RpcLimits& limits_;
  PeerTransportMetrics& metrics_;
  kj::Own<PeerConnection> connection_;
  kj::Maybe<wire::DeltaSink::Client> outbound_;
  std::deque<std::string> queue_;  // encoded frames waiting for the window
  size_t queued_here_ = 0;         // their bytes
  bool window_open_ = true;
  bool opened_ = false;  // dialled: openSession sent
  bool done_in_flight_ = false;
  uint64_t pushes_since_checkpoint_ = 0;
  bool failed_ = false;
  kj::Own<Liveness> liveness_;  // shared with exported capabilities; cleared on destruction
  kj::TaskSet tasks_;           // last: destroyed first, cancelling everything above
};

}  // namespace meridian::replication
