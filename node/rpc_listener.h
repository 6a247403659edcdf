// The client-facing accept loop: one TwoPartyVatNetwork and RpcSystem per connection (not
// EzRpcServer), with explicit message-size limits and an RPC flow limit, and a fresh Gate
// bootstrap per connection so that later per-client identities and TLS slot in here.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <functional>

#include "schema/api.capnp.h"

namespace meridian::node {

struct RpcLimits {
  // Largest message accepted from a client (words of 8 bytes). 32 Mi words = 256 MiB.
  uint64_t max_message_words = uint64_t{32} << 20;
  unsigned nesting_limit = 64;
  // Un-answered call bytes a connection may have in flight before we stop reading from it.
  size_t flow_limit_words = size_t{16} << 20;
};

class RpcListener {
 public:
  using GateFactory = std::function<rpc::Gate::Client()>;

  // Accepts connections on `receiver` until destroyed; each gets a Gate from `make_gate`.
  RpcListener(kj::ConnectionReceiver& receiver, GateFactory make_gate, RpcLimits limits = {});

  // Runs the accept loop; never resolves unless accepting fails.
  kj::Promise<void> run();
  size_t open_connections() const { return open_connections_; }

 private:
  struct Connection;
  class ErrorHandler : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override;
  };

  kj::Promise<void> accept_next();

  kj::ConnectionReceiver& receiver_;
  GateFactory make_gate_;
  RpcLimits limits_;
  size_t open_connections_ = 0;
  ErrorHandler error_handler_;
  kj::TaskSet tasks_;
};

}  // namespace meridian::node
