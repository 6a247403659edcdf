// ShardForwarder: connections to the client API of the region's other nodes; see
// shard_forwarder.h.
#include "node/shard_forwarder.h"

#include <capnp/message.h>

#include "replication/rpc_dialer.h"

namespace meridian::node {

ShardForwarder::~ShardForwarder() = default;

rpc::Api::Client ShardForwarder::api(const std::string& address) {
  auto it = connections_.find(address);
  if (it != connections_.end()) {
    KJ_IF_MAYBE (api, it->second->api) {
      return *api;
    }
  }
  auto owned = std::make_unique<Connection>();
  Connection* connection = owned.get();
  // Search answers of up to 1 GiB, as the C++ client allows.
  capnp::ReaderOptions reader;
  reader.traversalLimitInWords = uint64_t{1} << 27;
  reader.nestingLimit = 64;
  kj::Promise<rpc::Api::Client> opened =
      replication::dial_address(network_, nullptr, address)
          .then([connection, reader](kj::Own<kj::AsyncIoStream>&& stream) {
            connection->stream = kj::mv(stream);
            connection->network = kj::heap<capnp::TwoPartyVatNetwork>(
                *connection->stream, capnp::rpc::twoparty::Side::CLIENT, reader);
            connection->rpc = kj::heap(capnp::makeRpcClient(*connection->network));
            capnp::MallocMessageBuilder vat;
            auto id = vat.initRoot<capnp::rpc::twoparty::VatId>();
            id.setSide(capnp::rpc::twoparty::Side::SERVER);
            auto request = connection->rpc->bootstrap(id).castAs<rpc::Gate>().openRequest();
            request.setClientName("meridian-shard-forwarder");
            return request.send().getApi();
          });
  rpc::Api::Client api(kj::mv(opened));
  connection->api = api;
  connections_[address] = std::move(owned);
  return api;
}

void ShardForwarder::forget(const std::string& address) {
  auto it = connections_.find(address);
  if (it == connections_.end()) return;
  // Calls still holding the broken connection's capabilities reference its RPC system and
  // network: keep it a while instead of destroying it under them (a few per member at most).
  constexpr size_t kMaxRetired = 32;
  retired_.push_back(std::move(it->second));
  connections_.erase(it);
  if (retired_.size() > kMaxRetired) retired_.pop_front();
}

}  // namespace meridian::node
