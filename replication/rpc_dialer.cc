// NetworkDialer: address lookup, then kj::Network resolve and connect (and TLS); see rpc_dialer.h.
#include "replication/rpc_dialer.h"

#include <kj/debug.h>

namespace meridian::replication {

kj::Promise<kj::Own<kj::AsyncIoStream>> dial_address(kj::Network& network, PeerTls* tls,
                                                     const std::string& host_port) {
  auto connected = network.parseAddress(host_port).then([](kj::Own<kj::NetworkAddress>&& address) {
    return address->connect().attach(kj::mv(address));
  });
  if (tls == nullptr) return connected;
  return connected.then(
      [tls](kj::Own<kj::AsyncIoStream>&& stream) { return tls->wrap_client(kj::mv(stream)); });
}

kj::Promise<kj::Own<kj::AsyncIoStream>> NetworkDialer::dial(crdt::ReplicaId peer) {
  auto it = addresses_.find(peer);
  if (it == addresses_.end()) {
    return KJ_EXCEPTION(DISCONNECTED, "no address known for replica", peer);
  }
  return dial_address(network_, tls_, it->second);
}

}  // namespace meridian::replication
