// How a replica reaches its peers: PeerDialer opens a byte stream to a peer replica;
// NetworkDialer resolves a per-replica "host:port" through kj::Network.
#pragma once

#include <kj/async-io.h>

#include <map>
#include <string>

#include "crdt/version_vector.h"

namespace meridian::replication {

// Not thread-safe; used from the event loop of the endpoint that owns the shard hosts.
class PeerDialer {
 public:
  virtual ~PeerDialer() = default;
  // A connected stream to `peer`, or a rejected promise (or a thrown exception) when it cannot
  // be reached or is unknown.
  virtual kj::Promise<kj::Own<kj::AsyncIoStream>> dial(crdt::ReplicaId peer) = 0;
};

// Dials "host:port" addresses known per replica id (kj::Network::parseAddress syntax). `network`
// must outlive the dialer. Addresses may change at any time (a peer restarted elsewhere); a dial
// uses the address known when it starts.
class NetworkDialer final : public PeerDialer {
 public:
  explicit NetworkDialer(kj::Network& network) : network_(network) {}

  void set_address(crdt::ReplicaId peer, std::string host_port) {
    addresses_[peer] = std::move(host_port);
  }
  void remove_address(crdt::ReplicaId peer) { addresses_.erase(peer); }

  kj::Promise<kj::Own<kj::AsyncIoStream>> dial(crdt::ReplicaId peer) override;

 private:
  kj::Network& network_;
  std::map<crdt::ReplicaId, std::string> addresses_;
};

}  // namespace meridian::replication
