// How a replica reaches its peers: PeerDialer opens a byte stream to a peer replica;
// NetworkDialer resolves a per-replica "host:port" through kj::Network (and speaks TLS on it when
// the node's peer port does).
#pragma once

#include <kj/async-io.h>

#include <map>
#include <string>

#include "crdt/version_vector.h"
#include "replication/peer_tls.h"

namespace meridian::replication {

// Not thread-safe; used from the event loop of the endpoint that owns the shard hosts.
class PeerDialer {
 public:
  virtual ~PeerDialer() = default;
  // A connected stream to `peer`, or a rejected promise (or a thrown exception) when it cannot
  // be reached or is unknown.
  virtual kj::Promise<kj::Own<kj::AsyncIoStream>> dial(crdt::ReplicaId peer) = 0;
};

// A connected stream to the peer port at `host_port`: plain, or with `tls` (when not null) after
// the handshake. Used by NetworkDialer and by gossip. `network` and `tls` must outlive the promise.
kj::Promise<kj::Own<kj::AsyncIoStream>> dial_address(kj::Network& network, PeerTls* tls,
                                                     const std::string& host_port);

// Dials "host:port" addresses known per replica id (kj::Network::parseAddress syntax). `network`
// (and `tls`, when not null) must outlive the dialer. Addresses may change at any time (a peer
// restarted elsewhere); a dial uses the address known when it starts. With `tls` a dial resolves
// only after the TLS handshake, with the peer's certificate verified.
class NetworkDialer final : public PeerDialer {
 public:
  explicit NetworkDialer(kj::Network& network, PeerTls* tls = nullptr)
      : network_(network), tls_(tls) {}

  void set_address(crdt::ReplicaId peer, std::string host_port) {
    addresses_[peer] = std::move(host_port);
  }
  void remove_address(crdt::ReplicaId peer) { addresses_.erase(peer); }

  kj::Promise<kj::Own<kj::AsyncIoStream>> dial(crdt::ReplicaId peer) override;

 private:
  kj::Network& network_;
  PeerTls* tls_;
  std::map<crdt::ReplicaId, std::string> addresses_;
};

}  // namespace meridian::replication
