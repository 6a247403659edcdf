// NetworkDialer: address lookup, then kj::Network resolve and connect; see rpc_dialer.h.
#include "replication/rpc_dialer.h"

#include <kj/debug.h>

namespace meridian::replication {

kj::Promise<kj::Own<kj::AsyncIoStream>> NetworkDialer::dial(crdt::ReplicaId peer) {
  auto it = addresses_.find(peer);
  if (it == addresses_.end()) {
    return KJ_EXCEPTION(DISCONNECTED, "no address known for replica", peer);
  }
  return network_.parseAddress(it->second).then([](kj::Own<kj::NetworkAddress>&& address) {
    return address->connect().attach(kj::mv(address));
  });
}

}  // namespace meridian::replication
