// An in-memory stand-in for meridiand's client API, for client tests: a Gate and an Api
// served over a real TCP connection on an ephemeral port, with canned errors that exercise
// the client's status mapping (collection "missing" is NOT_FOUND, "dup" ALREADY_EXISTS);
// "contested" reports a lost concurrent create (a catalog conflict); the status is that of a
// TLS cluster node with one quarantined peer.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <map>
#include <string>
#include <thread>

#include "schema/api.capnp.h"
#include "schema/types.h"

namespace meridian::testing {

// Stored points of the fake, by id; all collections share them.
struct FakePoint {
  std::vector<float> vector;
  std::string payload;
};
using FakeStore = std::map<PointId, FakePoint>;

// The Gate's bootstrap capability; each connection gets its own Api over `store`.
kj::Own<rpc::Gate::Server> make_fake_gate(FakeStore& store);

// Serves one connection from `listener` on the current thread's event loop; the promise
// resolves when the client disconnects.
kj::Promise<void> serve_one_connection(kj::ConnectionReceiver& listener, FakeStore& store);

// Runs the fake on its own thread and event loop, for tests of the blocking Client. It serves
// exactly one connection and stops when that client disconnects.
class FakeServerThread {
 public:
  FakeServerThread();
  ~FakeServerThread();  // joins: the client must have disconnected (or never connected)
  FakeServerThread(const FakeServerThread&) = delete;
  FakeServerThread& operator=(const FakeServerThread&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  FakeStore store_;
  unsigned port_ = 0;
  std::thread thread_;
};

}  // namespace meridian::testing
