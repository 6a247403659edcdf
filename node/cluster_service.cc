// ClusterService: gossip, catalog propagation and one ShardHost per local collection; see
// cluster_service.h.
#include "node/cluster_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/cluster_codec.h"
#include "node/collection_shard_store.h"
#include "node/log.h"
#include "node/shard_placement.h"
#include "replication/rpc_peer.h"
#include "replication/rpc_shard_host.h"
#include "schema/rpc_status.h"

namespace meridian::node {

// One local shard replica, keyed in shards_ by its local name (shard_replica_name()).
struct ClusterService::Shard {
  std::string collection;  // the collection's name
  uint32_t shard = 0;
  uint64_t incarnation = 0;
  uint64_t replica_id = 0;
  std::unique_ptr<CollectionShardStore> store;
  replication::ShardHost* host = nullptr;  // owned by the endpoint
  std::map<uint64_t, PeerReplica> peers;   // by replica id
};

ClusterService::ClusterService(Node& node, kj::Network& network, kj::Timer& timer,
                               ClusterOptions options)
    : node_(node),
      network_(network),
      timer_(timer),
      options_(std::move(options)),
      membership_(node.node_id(), options_.peer_address),
      dialer_(network, options_.peer_tls),
      endpoint_(std::make_unique<replication::ReplicationEndpoint>(timer, dialer_, options_.limits,
                                                                   options_.peer_tls)),
      tasks_(*this) {}

ClusterService::~ClusterService() noexcept {
  // The shard hosts (inside the endpoint) use the shard stores: stop them first.
  endpoint_.reset();
  shards_.clear();
}

void ClusterService::start(kj::Own<kj::ConnectionReceiver> receiver) {
  endpoint_->set_gossip_handler([this](std::string_view bytes) { return answer_gossip(bytes); });
  endpoint_->set_refusal_handler([this](const std::string& reason) { log_refusal(reason); });
  endpoint_->listen(kj::mv(receiver));
  // Without seeds this node starts its region alone: it owns every shard until it hears of
  // others. With seeds it waits for their members (NodeOptions::await_placement).
  if (options_.seeds.empty()) place_shards();
  sync_shards();
  tasks_.add(gossip_loop());
  tasks_.add(handoff_loop());
}

int64_t ClusterService::now_ms() const {
  return (timer_.now() - kj::origin<kj::TimePoint>()) / kj::MILLISECONDS;
}

void ClusterService::log_refusal(const std::string& reason) {
  // A misconfigured peer retries every few seconds per shard: one line per interval is enough.
  constexpr int64_t kRefusalLogIntervalMs = 10'000;
  const int64_t now = now_ms();
  if (last_refusal_log_ms_ >= 0 && now - last_refusal_log_ms_ < kRefusalLogIntervalMs) {
    ++unlogged_refusals_;
    return;
  }
  std::string more =
      unlogged_refusals_ == 0 ? "" : absl::StrCat(" (and ", unlogged_refusals_, " more before)");
  log_warning(absl::StrCat(reason, more));
  last_refusal_log_ms_ = now;
  unlogged_refusals_ = 0;
}

std::string ClusterService::route(const std::string& address) const {
  auto it = options_.dial_via.find(address);
  return it == options_.dial_via.end() ? address : it->second;
}

GossipMessage ClusterService::own_view() {
  GossipMessage m;
  m.from = MemberInfo{node_.node_id(),       options_.region, options_.client_address,
                      options_.peer_address, heartbeat_,      node_.local_replicas()};
  m.members = membership_.members();
  m.catalog = node_.catalog_entries();
  return m;
}

void ClusterService::absorb(const GossipMessage& message) {
  const int64_t now = now_ms();
  std::vector<MemberInfo> heard = message.members;
  heard.push_back(message.from);
  membership_.merge(heard, now);
  place_shards();
  auto changes = node_.merge_catalog(message.catalog);
  if (!changes.ok()) {
    log_error(absl::StrCat("cannot apply the collection catalog from node ", message.from.node_id,
                           ": ", changes.status().ToString()));
  } else {
    for (const auto& line : *changes) log_info(line);
  }
  sync_shards();
}

void ClusterService::place_shards() {
  std::vector<std::string> region{node_.node_id()};
  for (const auto& m : membership_.members()) {
    if (m.region == options_.region) region.push_back(m.node_id);
  }
  auto changes = node_.set_region_members(std::move(region));
  if (!changes.ok()) {
    log_error(absl::StrCat("cannot apply shard placement: ", changes.status().ToString()));
    return;
  }
  for (const auto& line : *changes) log_info(line);
}

absl::StatusOr<std::string> ClusterService::answer_gossip(std::string_view bytes) {
  auto message = decode_gossip(bytes);
  if (!message.ok()) return message.status();
  absorb(*message);
  return encode_gossip(own_view());
}

kj::Promise<void> ClusterService::gossip_loop() {
  gossip_round();
  return timer_.afterDelay(options_.gossip_interval_ms * kj::MILLISECONDS).then([this]() {
    return gossip_loop();
  });
}

void ClusterService::gossip_round() {
  // The heartbeat follows the wall clock, so a node restarted after a crash is heard at once
  // (a counter from 0 would lose to its previous life's heartbeat for as long as that lived).
  const uint64_t wall_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  heartbeat_ = std::max(heartbeat_ + 1, wall_ms);
  ++gossip_rounds_;
  std::set<std::string> targets(options_.seeds.begin(), options_.seeds.end());
  for (const auto& m : membership_.members()) {
    if (!m.peer_address.empty()) targets.insert(m.peer_address);
  }
  targets.erase(options_.peer_address);
  for (const auto& address : targets) {
    if (!gossip_in_flight_.insert(address).second) continue;  // the last one is still going
    tasks_.add(gossip_with(address)
                   .exclusiveJoin(timer_.afterDelay(options_.gossip_timeout_ms * kj::MILLISECONDS)
                                      .then([]() -> kj::Promise<void> {
                                        return KJ_EXCEPTION(DISCONNECTED, "gossip timed out");
                                      }))
                   .then([this, address]() { gossip_in_flight_.erase(address); },
                         [this, address](kj::Exception&&) {
                           ++gossip_failures_;
                           gossip_in_flight_.erase(address);
                         }));
  }
}

kj::Promise<void> ClusterService::gossip_with(const std::string& address) {
  std::string bytes = encode_gossip(own_view());
  return replication::dial_address(network_, options_.peer_tls, route(address))
      .then([this, bytes = std::move(bytes)](kj::Own<kj::AsyncIoStream>&& stream) mutable {
        auto connection = kj::heap<replication::PeerConnection>(
            kj::mv(stream), capnp::rpc::twoparty::Side::CLIENT, options_.limits, nullptr);
        auto request = connection->peer_replicator().gossipRequest();
        request.setMessage(
            kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
        return request.send()
            .then([this](capnp::Response<replication::wire::Replicator::GossipResults>&& response) {
              auto reply = response.getReply();
              auto message = decode_gossip(
                  std::string_view(reinterpret_cast<const char*>(reply.begin()), reply.size()));
              if (!message.ok()) {
                log_error(absl::StrCat("bad gossip reply: ", message.status().ToString()));
                return;
              }
              absorb(*message);
            })
            .attach(kj::mv(connection));
      });
}

void ClusterService::sync_shards() {
  std::map<std::string, ReplicaAdvert> local;  // by local name
  for (auto& r : node_.local_replicas())
    local.emplace(shard_replica_name(r.collection, r.shard), r);
  // Stop replicas of collections that are gone or were replaced.
  for (auto it = shards_.begin(); it != shards_.end();) {
    auto l = local.find(it->first);
    if (l == local.end() || l->second.replica_id != it->second->replica_id) {
      endpoint_->remove_shard({it->second->collection, it->second->shard});
      it = shards_.erase(it);
    } else {
      it->second->incarnation = l->second.incarnation;  // relabelled: same data, same replica
      ++it;
    }
  }
  for (const auto& [name, advert] : local) {
    if (!shards_.contains(name)) {
      auto store = CollectionShardStore::create(node_, name);
      if (!store.ok()) {
        log_error(
            absl::StrCat("collection '", name, "': cannot replicate: ", store.status().ToString()));
        continue;
      }
      auto fresh = std::make_unique<Shard>();
      fresh->collection = advert.collection;
      fresh->shard = advert.shard;
      fresh->incarnation = advert.incarnation;
      fresh->replica_id = advert.replica_id;
      fresh->store = *std::move(store);
      Shard& shard = *fresh;
      shards_.emplace(name, std::move(fresh));
      replication::ReplicatorOptions options = options_.replicator;
      options.shard = {advert.collection, advert.shard};
      options.region = options_.region;
      options.on_quarantine = [name](crdt::ReplicaId peer, const std::string& reason) {
        log_warning(absl::StrCat("collection '", name, "': replication to replica ", peer,
                                 " QUARANTINED: it rejected the same deltas as invalid ",
                                 "repeatedly (", reason, "); nothing more is sent to it until ",
                                 "it joins them another way or this node restarts"));
      };
      shard.host = &endpoint_->add_shard(advert.replica_id, options, *shard.store,
                                         advert.replica_id ^ heartbeat_);
      shard.host->start({});
    }
    Shard& shard = *shards_.at(name);
    const std::vector<PeerReplica> advertised =
        membership_.peers_of(shard.collection, shard.shard, shard.incarnation);
    for (auto known = shard.peers.begin(); known != shard.peers.end();) {
      const bool still = std::any_of(advertised.begin(), advertised.end(),
                                     [&](const auto& p) { return p.replica_id == known->first; });
      if (still) {
        ++known;
        continue;
      }
      // Its node was replaced or dropped the collection: stop streaming to it and let the log
      // compact without it.
      log_info(absl::StrCat("collection '", name, "': replica ", known->first, " on node ",
                            known->second.node_id, " is gone; no longer replicating with it"));
      shard.host->remove_peer(known->first);
      dialer_.remove_address(known->first);
      known = shard.peers.erase(known);
    }
    for (const auto& peer : advertised) {
      auto known = shard.peers.find(peer.replica_id);
      if (known == shard.peers.end() || known->second.peer_address != peer.peer_address) {
        dialer_.set_address(peer.replica_id, route(peer.peer_address));
      }
      if (known == shard.peers.end()) {
        shard.peers.emplace(peer.replica_id, peer);
        shard.host->add_peer(peer.replica_id);
        log_info(absl::StrCat("collection '", name, "': replicating with node ", peer.node_id,
                              " in region ", peer.region, " (", peer.peer_address, ")"));
      } else {
        known->second = peer;
      }
    }
  }
}

void ClusterService::on_local_commit(const std::string& collection, uint64_t seq) {
  // On a later turn: the node calls this while it holds its lock, and the replicator reads the
  // node's state through the shard store.
  tasks_.add(kj::evalLater([this, collection, seq]() {
    auto it = shards_.find(collection);
    if (it != shards_.end()) it->second->host->on_local_commit(seq);
  }));
}

void ClusterService::before_collection_drop(const std::string& collection) {
  auto it = shards_.find(collection);
  if (it == shards_.end()) return;
  endpoint_->remove_shard({it->second->collection, it->second->shard});
  shards_.erase(it);
}

ClusterStatus ClusterService::status() const {
  ClusterStatus out;
  out.region = options_.region;
  out.peer_address = options_.peer_address;
  out.gossip_rounds = gossip_rounds_;
  out.gossip_failures = gossip_failures_;
  out.peer_tls = options_.peer_tls != nullptr;
  out.tls_refused = endpoint_->metrics().tls_refused;
  for (const auto& [name, handoff] : handoffs_) out.handoffs.push_back(handoff);
  const int64_t now = now_ms();
  for (const auto& m : membership_.members()) {
    out.members.push_back({m, membership_.up(m.node_id, now, options_.suspect_after_ms)});
  }
  for (const auto& [name, shard] : shards_) {
    const auto& metrics = shard->host->metrics();
    for (const auto& [replica, peer] : shard->peers) {
      PeerReplicationStatus p;
      p.collection = shard->collection;
      p.shard = shard->shard;
      p.replica_id = replica;
      p.node_id = peer.node_id;
      p.region = peer.region;
      auto m = metrics.peers.find(replica);
      if (m != metrics.peers.end()) {
        p.connected = m->second.connected;
        p.lag_deltas = m->second.lag_deltas;
        p.lag_ms = m->second.lag_ms;
        p.bytes_sent = m->second.bytes_sent;
        p.full_state_transfers = m->second.full_state_transfers;
        p.full_states_received = m->second.full_states_received;
        p.reconnects = m->second.reconnects;
        p.quarantined = m->second.quarantined;
        p.quarantine_reason = m->second.quarantine_reason;
      }
      auto acked = shard->store->log().acked(replica);
      if (acked.ok()) p.acked_seq = *acked;
      out.peers.push_back(std::move(p));
    }
  }
  return out;
}

std::map<std::string, uint64_t> ClusterService::acked_by_region(
    const std::string& collection) const {
  std::map<std::string, uint64_t> out;
  auto it = shards_.find(collection);
  if (it == shards_.end()) return out;
  for (const auto& [replica, peer] : it->second->peers) {
    auto acked = it->second->store->log().acked(replica);
    uint64_t seq = acked.ok() ? *acked : 0;
    auto [pos, inserted] = out.try_emplace(peer.region, seq);
    if (!inserted) pos->second = std::max(pos->second, seq);
  }
  return out;
}

WriteConfirmation ClusterService::confirmation(const std::string& collection, uint64_t seq,
                                               WriteConcern concern) const {
  WriteConfirmation out{true, {}};
  if (seq == 0 || concern == WriteConcern::kLocal) return out;
  auto it = shards_.find(collection);
  if (it == shards_.end()) return out;  // not replicated (yet): nobody else to wait for
  const Shard& shard = *it->second;
  auto has = [&](uint64_t replica) {
    auto acked = shard.store->log().acked(replica);
    return acked.ok() && *acked >= seq;
  };
  if (concern == WriteConcern::kRegion) {
    size_t replicas = 1, holding = 1;  // ourselves
    for (const auto& [replica, peer] : shard.peers) {
      if (peer.region != options_.region) continue;
      ++replicas;
      if (has(replica)) ++holding;
    }
    if (holding < replicas / 2 + 1) out = {false, {options_.region}};
    return out;
  }
  std::map<std::string, bool> regions;
  for (const auto& [replica, peer] : shard.peers) {
    if (peer.region == options_.region) continue;
    regions[peer.region] = regions[peer.region] || has(replica);
  }
  for (const auto& [region, held] : regions) {
    if (!held) out.missing_regions.push_back(region);
  }
  out.confirmed = out.missing_regions.empty();
  return out;
}

std::vector<ShardHolder> ClusterService::shard_holders(const std::string& collection,
                                                       uint32_t shard) const {
  std::vector<ShardHolder> out;
  if (shards_.contains(shard_replica_name(collection, shard))) {
    out.push_back({node_.node_id(), options_.region, options_.client_address});
  }
  for (const auto& m : membership_.members()) {
    for (const auto& r : m.replicas) {
      if (r.collection == collection && r.shard == shard && r.replica_id != 0) {
        out.push_back({m.node_id, m.region, m.client_address});
        break;
      }
    }
  }
  return out;
}

std::vector<ShardHolder> ClusterService::region_holders(const CollectionConfig& config,
                                                        uint32_t shard) const {
  std::vector<std::string> region{node_.node_id()};
  std::map<std::string, MemberInfo> members;
  for (auto& m : membership_.members()) {
    if (m.region != options_.region || m.node_id == node_.node_id()) continue;
    region.push_back(m.node_id);
    members.emplace(m.node_id, std::move(m));
  }
  std::vector<ShardHolder> out;
  auto add = [&](const MemberInfo& m) {
    if (m.client_address.empty()) return;
    for (const auto& h : out) {
      if (h.node_id == m.node_id) return;
    }
    out.push_back({m.node_id, m.region, m.client_address});
  };
  for (const auto& owner : shard_owners(config.name, shard, region, config.replication_factor)) {
    auto it = members.find(owner);
    if (it != members.end()) add(it->second);
  }
  for (const auto& [id, m] : members) {
    for (const auto& r : m.replicas) {
      if (r.collection == config.name && r.shard == shard && r.replica_id != 0) add(m);
    }
  }
  return out;
}

std::set<std::string> ClusterService::peer_regions(const std::string& collection) const {
  std::set<std::string> out;
  auto it = shards_.find(collection);
  if (it == shards_.end()) return out;
  for (const auto& [replica, peer] : it->second->peers) out.insert(peer.region);
  return out;
}

kj::Promise<void> ClusterService::handoff_loop() {
  return timer_.afterDelay(options_.handoff_check_ms * kj::MILLISECONDS).then([this]() {
    check_handoffs();
    return handoff_loop();
  });
}

std::vector<OwnerProgress> ClusterService::owner_progress(
    const Shard& shard, const crdt::DeltaLog& log, const std::vector<std::string>& owners) const {
  const int64_t now = now_ms();
  const auto& metrics = shard.host->metrics();
  std::vector<OwnerProgress> out;
  for (const std::string& owner : owners) {
    OwnerProgress p;
    p.node_id = owner;
    p.up = membership_.up(owner, now, options_.suspect_after_ms);
    for (const auto& [replica, peer] : shard.peers) {
      if (peer.node_id == owner && peer.region == options_.region) p.replica = replica;
    }
    if (p.replica != 0) {
      auto m = metrics.peers.find(p.replica);
      if (m != metrics.peers.end()) {
        p.connected = m->second.connected;
        p.vv = m->second.vv;
      }
      auto acked = log.acked(p.replica);
      if (acked.ok()) p.acked_seq = *acked;
    }
    out.push_back(std::move(p));
  }
  return out;
}

void ClusterService::check_handoffs() {
  std::map<std::string, ShardHandoffStatus> next;
  for (const UnownedReplica& unowned : node_.unowned_replicas()) {
    auto it = shards_.find(unowned.local_name);
    if (it == shards_.end() || it->second->replica_id != unowned.replica_id) continue;
    const Shard& shard = *it->second;
    const crdt::DeltaLog& log = shard.store->log();
    const HandoffDecision decision = decide_handoff(shard.store->state().context(), log.last_seq(),
                                                    owner_progress(shard, log, unowned.owners));
    if (decision.retire) {
      // Again under the node's write lock, on what the replica holds at the moment of removal:
      // a write committed since the check above must have reached the owners too. Only the
      // replica's own (const) state and log are read there: the shard store's log() may trim
      // the stored log, which takes the node's lock.
      auto retired = node_.retire_replica(
          unowned.local_name, unowned.replica_id, [&](const CollectionReplica& replica) {
            return decide_handoff(replica.state().context(), replica.log().last_seq(),
                                  owner_progress(shard, replica.log(), unowned.owners))
                .retire;
          });
      // `shard` is gone when it was retired (before_collection_drop).
      if (retired.ok() && *retired) {
        ++retired_replicas_;
        log_info(absl::StrCat("collection '", unowned.collection, "' shard ", unowned.shard,
                              ": handed off to ", absl::StrJoin(unowned.owners, ", "),
                              " (they hold everything this replica had); replica removed here"));
        continue;
      }
      if (!retired.ok()) {
        log_error(
            absl::StrCat("collection '", unowned.local_name,
                         "': cannot remove the handed-off replica: ", retired.status().ToString()));
      }
    }
    next[unowned.local_name] = {unowned.collection, unowned.shard, decision.owners_reachable,
                                decision.lagging};
  }
  handoffs_ = std::move(next);
}

bool ClusterService::forwards_writes(const std::string& collection, uint32_t shard) const {
  auto it = handoffs_.find(shard_replica_name(collection, shard));
  return it != handoffs_.end() && it->second.forwarding_writes;
}

void ClusterService::taskFailed(kj::Exception&& exception) {
  log_error(absl::StrCat("cluster: ", exception.getDescription().cStr()));
}

}  // namespace meridian::node
