// Accept loop for client RPC connections; see rpc_listener.h.
#include "node/rpc_listener.h"

#include "absl/strings/str_cat.h"
#include "node/log.h"

namespace meridian::node {

struct RpcListener::Connection {
  Connection(kj::Own<kj::AsyncIoStream> s, const RpcLimits& limits, rpc::Gate::Client gate)
      : stream(kj::mv(s)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER, reader_options(limits)),
        rpc(capnp::makeRpcServer(network, kj::mv(gate))) {
    rpc.setFlowLimit(limits.flow_limit_words);
  }
  static capnp::ReaderOptions reader_options(const RpcLimits& limits) {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.max_message_words;
    options.nestingLimit = static_cast<int>(limits.nesting_limit);
    return options;
  }

  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

void RpcListener::ErrorHandler::taskFailed(kj::Exception&& exception) {
  log_warning(
      absl::StrCat("client connection ended with an error: ", exception.getDescription().cStr()));
}

RpcListener::RpcListener(kj::ConnectionReceiver& receiver, GateFactory make_gate, RpcLimits limits)
    : receiver_(receiver),
      make_gate_(std::move(make_gate)),
      limits_(limits),
      tasks_(error_handler_) {}

kj::Promise<void> RpcListener::run() { return accept_next(); }

kj::Promise<void> RpcListener::accept_next() {
  return receiver_.accept().then([this](kj::Own<kj::AsyncIoStream>&& stream) {
    auto connection = kj::heap<Connection>(kj::mv(stream), limits_, make_gate_());
    ++open_connections_;
    auto disconnected = connection->network.onDisconnect();
    tasks_.add(disconnected.attach(kj::mv(connection), kj::defer([this] { --open_connections_; })));
    return accept_next();
  });
}

}  // namespace meridian::node
