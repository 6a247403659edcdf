// AsyncClient: builds Cap'n Proto requests from plain types and turns replies (and every KJ
// exception) back into plain types and statuses.
#include "client/async_client.h"

#include <capnp/message.h>
#include <capnp/rpc.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "schema/convert.h"
#include "schema/rpc_status.h"

namespace meridian::client {
namespace {

capnp::ReaderOptions reader_options(const ConnectOptions& options) {
  capnp::ReaderOptions reader;
  reader.traversalLimitInWords = options.traversal_limit_words;
  reader.nestingLimit = options.nesting_limit;
  return reader;
}

// capnp::Text::Reader needs a NUL-terminated string, which std::string always is.
capnp::Text::Reader text_of(const std::string& s) {
  return capnp::Text::Reader(s.c_str(), s.size());
}

capnp::Data::Reader data_of(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string to_string(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

std::string to_string(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

std::vector<float> to_vector(capnp::List<float>::Reader list) {
  std::vector<float> out(list.size());
  for (uint32_t i = 0; i < list.size(); ++i) out[i] = list[i];
  return out;
}

void set_vector(const std::vector<float>& values, capnp::List<float>::Builder out) {
  for (uint32_t i = 0; i < values.size(); ++i) out.set(i, values[i]);
}

// A reply the client cannot make sense of is the server's fault, not the caller's.
absl::Status malformed_reply(const absl::Status& status) {
  return absl::InternalError(
      absl::StrCat("malformed reply from server: ", std::string(status.message())));
}

absl::StatusOr<PointId> id_from_reply(rpc::PointId::Reader id) {
  absl::StatusOr<PointId> parsed = point_id_from_rpc(id);
  if (!parsed.ok()) return malformed_reply(parsed.status());
  return parsed;
}

absl::StatusOr<CollectionInfo> info_from_reply(rpc::CollectionInfo::Reader info) {
  absl::StatusOr<CollectionConfig> config = collection_config_from_rpc(info.getConfig());
  if (!config.ok()) return malformed_reply(config.status());
  rpc::SegmentStats::Reader seg = info.getSegments();
  SegmentStats segments{seg.getGrowingPoints(),   seg.getSealedSegments(), seg.getSealedPoints(),
                        seg.getPendingSegments(), seg.getBuildPending(),   seg.getBuilds(),
                        seg.getLoadedSegments(),  seg.getBuiltAtStart(),   seg.getRejectedFiles()};
  std::vector<CatalogConflict> conflicts;
  for (rpc::CatalogConflict::Reader c : info.getConflicts()) {
    absl::StatusOr<CollectionConfig> lost = collection_config_from_rpc(c.getConfig());
    if (!lost.ok()) return malformed_reply(lost.status());
    conflicts.push_back(CatalogConflict{to_string(c.getRegion()), c.getCreatedMs(),
                                        c.getIncarnation(), *std::move(lost), c.getDropped()});
  }
  return CollectionInfo{*std::move(config),
                        info.getPointCount(),
                        info.getStoredBytes(),
                        std::string(info.getDigest().cStr(), info.getDigest().size()),
                        segments,
                        std::move(conflicts)};
}

absl::StatusOr<std::vector<PointData>> points_from_reply(capnp::List<rpc::Point>::Reader list) {
  std::vector<PointData> points;
  points.reserve(list.size());
  for (rpc::Point::Reader p : list) {
    absl::StatusOr<PointId> id = id_from_reply(p.getId());
    if (!id.ok()) return id.status();
    points.push_back(PointData{*id, to_vector(p.getVector()), to_string(p.getPayload())});
  }
  return points;
}

WriteResult write_result_from_reply(rpc::WriteResult::Reader result) {
  WriteResult out;
  out.applied = result.getApplied();
  out.causal_token = to_string(result.getCausalToken());
  if (result.hasReplication()) {
    auto r = result.getReplication();
    out.replication_confirmed = r.getConfirmed();
    for (auto region : r.getMissingRegions()) out.missing_regions.push_back(to_string(region));
    out.replication_waited_ms = r.getWaitedMs();
  }
  return out;
}

rpc::WriteConcern write_concern_to_rpc(WriteConcern concern) {
  switch (concern) {
    case WriteConcern::kRegion:
      return rpc::WriteConcern::REGION;
    case WriteConcern::kAllRegions:
      return rpc::WriteConcern::ALL_REGIONS;
    case WriteConcern::kLocal:
      break;
  }
  return rpc::WriteConcern::LOCAL;
}

void set_ids(std::span<const PointId> ids, capnp::List<rpc::PointId>::Builder out) {
  for (uint32_t i = 0; i < ids.size(); ++i) point_id_to_rpc(ids[i], out[i]);
}

// Sends one request and converts its reply. `send` runs before call() returns and yields the
// RPC's promise; `convert` maps the response to R (an absl::Status or StatusOr). Any KJ
// exception, from sending, the network, the server or decoding, becomes a status.
template <typename Results, typename Send, typename Convert>
auto call(Send&& send, Convert&& convert)
    -> kj::Promise<decltype(convert(std::declval<capnp::Response<Results>&>()))> {
  using R = decltype(convert(std::declval<capnp::Response<Results>&>()));
  kj::Promise<capnp::Response<Results>> sent =
      kj::evalNow([&]() -> kj::Promise<capnp::Response<Results>> { return send(); });
  return sent
      .then([convert = std::forward<Convert>(convert)](capnp::Response<Results>&& response) -> R {
        return convert(response);
      })
      .catch_([](kj::Exception&& e) -> R { return exception_to_status(e); });
}

}  // namespace

AsyncClient::AsyncClient(kj::Own<kj::AsyncIoStream> stream, const ConnectOptions& options)
    : stream_(kj::mv(stream)),
      network_(*stream_, capnp::rpc::twoparty::Side::CLIENT, reader_options(options)),
      rpc_system_(capnp::makeRpcClient(network_)),
      api_(nullptr) {
  rpc_system_.setFlowLimit(options.flow_limit_words);
}

AsyncClient::~AsyncClient() = default;

kj::Promise<absl::StatusOr<std::unique_ptr<AsyncClient>>> AsyncClient::connect(
    kj::Network& network, const std::string& address, const ConnectOptions& options) {
  using Result = absl::StatusOr<std::unique_ptr<AsyncClient>>;
  if (address.empty()) {
    return kj::evalLater([]() -> Result {
      return absl::InvalidArgumentError("server address is empty; expected HOST:PORT");
    });
  }
  kj::Promise<kj::Own<kj::AsyncIoStream>> connected =
      kj::evalNow([&]() {
        return network.parseAddress(address, kDefaultPort);
      }).then([](kj::Own<kj::NetworkAddress> addr) {
        return addr->connect().attach(kj::mv(addr));
      });
  return connected
      .then([options](kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<Result> {
        std::unique_ptr<AsyncClient> client(new AsyncClient(kj::mv(stream), options));
        capnp::MallocMessageBuilder vat_id_message(8);
        auto server_id = vat_id_message.initRoot<capnp::rpc::twoparty::VatId>();
        server_id.setSide(capnp::rpc::twoparty::Side::SERVER);
        auto gate = client->rpc_system_.bootstrap(server_id).castAs<rpc::Gate>();
        auto request = gate.openRequest();
        request.setClientName(text_of(options.client_name));
        auto opened = request.send();
        // Pipelined: calls made on api_ before the reply arrives queue behind `open`.
        client->api_ = opened.getApi();
        return opened.then([client = std::move(client)](
                               capnp::Response<rpc::Gate::OpenResults>&& response) mutable {
          client->server_version_ = to_string(response.getServerVersion());
          return Result(std::move(client));
        });
      })
      .catch_([address](kj::Exception&& e) -> Result {
        absl::Status status = exception_to_status(e);
        if (status.code() == absl::StatusCode::kInternal ||
            status.code() == absl::StatusCode::kUnavailable) {
          return absl::UnavailableError(absl::StrCat("cannot connect to meridiand at ", address,
                                                     ": ", std::string(status.message())));
        }
        return absl::Status(status.code(), absl::StrCat("meridiand at ", address, ": ",
                                                        std::string(status.message())));
      });
}

kj::Promise<absl::StatusOr<NodeStatus>> AsyncClient::status() {
  return call<rpc::Api::StatusResults>(
      [&] { return api_.statusRequest().send(); },
      [](capnp::Response<rpc::Api::StatusResults>& r) -> absl::StatusOr<NodeStatus> {
        rpc::NodeStatus::Reader s = r.getStatus();
        NodeStatus out;
        out.version = to_string(s.getVersion());
        out.node_id = to_string(s.getNodeId());
        out.uptime_ms = s.getUptimeMs();
        out.collections = s.getCollections();
        out.points = s.getPoints();
        out.data_dir = to_string(s.getDataDir());
        out.integrity_failures = s.getIntegrityFailures();
        out.region = to_string(s.getRegion());
        out.peer_address = to_string(s.getPeerAddress());
        out.peer_tls = s.getPeerTls();
        out.tls_refused = s.getTlsRefused();
        for (auto m : s.getMembers()) {
          out.members.push_back({to_string(m.getNodeId()), to_string(m.getRegion()),
                                 to_string(m.getClientAddress()), to_string(m.getPeerAddress()),
                                 m.getUp()});
        }
        for (auto p : s.getReplication()) {
          out.replication.push_back(
              {to_string(p.getCollection()), to_string(p.getNodeId()), to_string(p.getRegion()),
               p.getConnected(), p.getLagDeltas(), p.getLagMs(), p.getBytesSent(),
               p.getFullStateTransfers(), p.getFullStatesReceived(), p.getReconnects(),
               p.getQuarantined(), to_string(p.getQuarantineReason()), p.getShard()});
        }
        for (auto h : s.getShards()) {
          out.shards.push_back(
              {to_string(h.getCollection()), h.getShard(), h.getShardCount(), h.getPoints()});
        }
        for (auto h : s.getHandoffs()) {
          NodeStatus::Handoff handoff{
              to_string(h.getCollection()), h.getShard(), h.getForwardingWrites(), {}};
          for (auto l : h.getLagging()) {
            handoff.lagging.push_back({to_string(l.getNodeId()), to_string(l.getReason())});
          }
          out.handoffs.push_back(std::move(handoff));
        }
        return out;
      });
}

kj::Promise<absl::StatusOr<CollectionInfo>> AsyncClient::create_collection(
    const CollectionConfig& config) {
  return call<rpc::Api::CreateCollectionResults>(
      [&] {
        auto request = api_.createCollectionRequest();
        collection_config_to_rpc(config, request.initConfig());
        return request.send();
      },
      [](capnp::Response<rpc::Api::CreateCollectionResults>& r) {
        return info_from_reply(r.getInfo());
      });
}

kj::Promise<absl::StatusOr<std::vector<CollectionInfo>>> AsyncClient::list_collections() {
  return call<rpc::Api::ListCollectionsResults>(
      [&] { return api_.listCollectionsRequest().send(); },
      [](capnp::Response<rpc::Api::ListCollectionsResults>& r)
          -> absl::StatusOr<std::vector<CollectionInfo>> {
        std::vector<CollectionInfo> infos;
        for (rpc::CollectionInfo::Reader info : r.getCollections()) {
          absl::StatusOr<CollectionInfo> converted = info_from_reply(info);
          if (!converted.ok()) return converted.status();
          infos.push_back(*std::move(converted));
        }
        return infos;
      });
}

kj::Promise<absl::StatusOr<CollectionInfo>> AsyncClient::collection_info(const std::string& name) {
  return call<rpc::Api::CollectionInfoResults>(
      [&] {
        auto request = api_.collectionInfoRequest();
        request.setName(text_of(name));
        return request.send();
      },
      [](capnp::Response<rpc::Api::CollectionInfoResults>& r) {
        return info_from_reply(r.getInfo());
      });
}

kj::Promise<absl::StatusOr<ShardMap>> AsyncClient::shard_map(const std::string& collection) {
  return call<rpc::Api::ShardMapResults>(
      [&] {
        auto request = api_.shardMapRequest();
        request.setCollection(text_of(collection));
        return request.send();
      },
      [](capnp::Response<rpc::Api::ShardMapResults>& r) -> absl::StatusOr<ShardMap> {
        rpc::ShardMap::Reader m = r.getMap();
        ShardMap out;
        out.collection = to_string(m.getCollection());
        out.shard_count = m.getShardCount();
        out.hash_version = m.getHashVersion();
        out.replication_factor = m.getReplicationFactor();
        if (m.getShards().size() != out.shard_count) {
          return absl::InternalError("shard map lists another number of shards than it has");
        }
        for (auto shard : m.getShards()) {
          std::vector<ShardMap::Holder> holders;
          for (auto h : shard.getHolders()) {
            holders.push_back({to_string(h.getNodeId()), to_string(h.getRegion()),
                               to_string(h.getClientAddress())});
          }
          out.holders.push_back(std::move(holders));
        }
        return out;
      });
}

kj::Promise<absl::Status> AsyncClient::drop_collection(const std::string& name) {
  return call<rpc::Api::DropCollectionResults>(
      [&] {
        auto request = api_.dropCollectionRequest();
        request.setName(text_of(name));
        return request.send();
      },
      [](capnp::Response<rpc::Api::DropCollectionResults>&) { return absl::OkStatus(); });
}

kj::Promise<absl::StatusOr<WriteResult>> AsyncClient::upsert(const std::string& collection,
                                                             std::span<const PointData> points,
                                                             const WriteOptions& options) {
  return call<rpc::Api::UpsertResults>(
      [&] {
        auto request = api_.upsertRequest();
        request.setCollection(text_of(collection));
        request.setWriteConcern(write_concern_to_rpc(options.concern));
        request.setTimeoutMs(options.timeout_ms);
        auto list = request.initPoints(points.size());
        for (uint32_t i = 0; i < points.size(); ++i) {
          const PointData& p = points[i];
          rpc::Point::Builder out = list[i];
          point_id_to_rpc(p.id, out.initId());
          set_vector(p.vector, out.initVector(p.vector.size()));
          if (!p.payload_json.empty()) out.setPayload(text_of(p.payload_json));
        }
        return request.send();
      },
      [](capnp::Response<rpc::Api::UpsertResults>& r) -> absl::StatusOr<WriteResult> {
        return write_result_from_reply(r.getResult());
      });
}

kj::Promise<absl::StatusOr<WriteResult>> AsyncClient::remove(const std::string& collection,
                                                             std::span<const PointId> ids,
                                                             const WriteOptions& options) {
  return call<rpc::Api::DeleteResults>(
      [&] {
        auto request = api_.deleteRequest();
        request.setCollection(text_of(collection));
        request.setWriteConcern(write_concern_to_rpc(options.concern));
        request.setTimeoutMs(options.timeout_ms);
        set_ids(ids, request.initIds(ids.size()));
        return request.send();
      },
      [](capnp::Response<rpc::Api::DeleteResults>& r) -> absl::StatusOr<WriteResult> {
        return write_result_from_reply(r.getResult());
      });
}

kj::Promise<absl::StatusOr<std::vector<PointData>>> AsyncClient::get(const std::string& collection,
                                                                     std::span<const PointId> ids,
                                                                     ReadOptions options) {
  return call<rpc::Api::GetResults>(
      [&] {
        auto request = api_.getRequest();
        request.setCollection(text_of(collection));
        set_ids(ids, request.initIds(ids.size()));
        request.setWithVector(options.with_vector);
        request.setWithPayload(options.with_payload);
        request.setConsistencyToken(data_of(options.consistency_token));
        return request.send();
      },
      [](capnp::Response<rpc::Api::GetResults>& r) { return points_from_reply(r.getPoints()); });
}

kj::Promise<absl::StatusOr<WriteResult>> AsyncClient::set_payload(const std::string& collection,
                                                                  std::span<const PointId> ids,
                                                                  const std::string& payload_json) {
  return call<rpc::Api::SetPayloadResults>(
      [&] {
        auto request = api_.setPayloadRequest();
        request.setCollection(text_of(collection));
        set_ids(ids, request.initIds(ids.size()));
        request.setPayload(text_of(payload_json));
        return request.send();
      },
      [](capnp::Response<rpc::Api::SetPayloadResults>& r) -> absl::StatusOr<WriteResult> {
        return write_result_from_reply(r.getResult());
      });
}

kj::Promise<absl::StatusOr<WriteResult>> AsyncClient::overwrite_payload(
    const std::string& collection, std::span<const PointId> ids, const std::string& payload_json) {
  return call<rpc::Api::OverwritePayloadResults>(
      [&] {
        auto request = api_.overwritePayloadRequest();
        request.setCollection(text_of(collection));
        set_ids(ids, request.initIds(ids.size()));
        request.setPayload(text_of(payload_json));
        return request.send();
      },
      [](capnp::Response<rpc::Api::OverwritePayloadResults>& r) -> absl::StatusOr<WriteResult> {
        return write_result_from_reply(r.getResult());
      });
}

kj::Promise<absl::StatusOr<WriteResult>> AsyncClient::delete_payload_keys(
    const std::string& collection, std::span<const PointId> ids,
    const std::vector<std::string>& keys) {
  return call<rpc::Api::DeletePayloadKeysResults>(
      [&] {
        auto request = api_.deletePayloadKeysRequest();
        request.setCollection(text_of(collection));
        set_ids(ids, request.initIds(ids.size()));
        auto out = request.initKeys(static_cast<unsigned>(keys.size()));
        for (size_t i = 0; i < keys.size(); ++i) out.set(i, text_of(keys[i]));
        return request.send();
      },
      [](capnp::Response<rpc::Api::DeletePayloadKeysResults>& r) -> absl::StatusOr<WriteResult> {
        return write_result_from_reply(r.getResult());
      });
}

kj::Promise<absl::StatusOr<uint64_t>> AsyncClient::count(const std::string& collection,
                                                         const std::string& consistency_token) {
  return call<rpc::Api::CountResults>(
      [&] {
        auto request = api_.countRequest();
        request.setCollection(text_of(collection));
        request.setConsistencyToken(data_of(consistency_token));
        return request.send();
      },
      [](capnp::Response<rpc::Api::CountResults>& r) -> absl::StatusOr<uint64_t> {
        return r.getCount();
      });
}

kj::Promise<absl::StatusOr<ScrollPage>> AsyncClient::scroll(const std::string& collection,
                                                            const std::string& cursor,
                                                            uint32_t limit, ReadOptions options) {
  return call<rpc::Api::ScrollResults>(
      [&] {
        auto request = api_.scrollRequest();
        request.setCollection(text_of(collection));
        request.setCursor(data_of(cursor));
        request.setLimit(limit);
        request.setWithVector(options.with_vector);
        request.setWithPayload(options.with_payload);
        request.setConsistencyToken(data_of(options.consistency_token));
        return request.send();
      },
      [](capnp::Response<rpc::Api::ScrollResults>& r) -> absl::StatusOr<ScrollPage> {
        absl::StatusOr<std::vector<PointData>> points = points_from_reply(r.getPoints());
        if (!points.ok()) return points.status();
        return ScrollPage{*std::move(points), to_string(r.getNextCursor())};
      });
}

kj::Promise<absl::StatusOr<SearchResults>> AsyncClient::search(const SearchRequest& request) {
  return call<rpc::Api::SearchResults>(
      [&] {
        auto rpc_request = api_.searchRequest();
        rpc::SearchRequest::Builder out = rpc_request.initRequest();
        out.setCollection(text_of(request.collection));
        set_vector(request.queries, out.initQueries(request.queries.size()));
        out.setK(request.k);
        out.setWithPayload(request.with_payload);
        out.setConsistencyToken(data_of(request.consistency_token));
        out.setWithVector(request.with_vector);
        out.setEf(request.ef);
        out.setNprobe(request.nprobe);
        if (!request.filter.empty()) out.setFilter(text_of(request.filter));
        return rpc_request.send();
      },
      [](capnp::Response<rpc::Api::SearchResults>& r) -> absl::StatusOr<SearchResults> {
        SearchResults results;
        results.reserve(r.getResults().size());
        for (rpc::QueryResult::Reader query : r.getResults()) {
          std::vector<ScoredPoint>& hits = results.emplace_back();
          hits.reserve(query.getPoints().size());
          for (rpc::ScoredPoint::Reader p : query.getPoints()) {
            absl::StatusOr<PointId> id = id_from_reply(p.getId());
            if (!id.ok()) return id.status();
            hits.push_back(ScoredPoint{*id, p.getScore(), to_vector(p.getVector()),
                                       to_string(p.getPayload())});
          }
        }
        return results;
      });
}

namespace {

KeyStatus key_status_of(rpc::KeyStatus::Reader s) {
  KeyStatus out;
  out.encrypted = s.getEncrypted();
  for (auto k : s.getKeys()) out.keys.push_back({k.getKeyId(), k.getActive(), k.getValues()});
  out.resealing = s.getResealing();
  out.resealed_values = s.getResealedValues();
  out.unreadable_values = s.getUnreadableValues();
  return out;
}

}  // namespace

kj::Promise<absl::StatusOr<KeyStatus>> AsyncClient::key_status() {
  return call<rpc::Admin::KeyStatusResults>(
      [&] { return api_.adminRequest().send().getAdmin().keyStatusRequest().send(); },
      [](capnp::Response<rpc::Admin::KeyStatusResults>& r) -> absl::StatusOr<KeyStatus> {
        return key_status_of(r.getStatus());
      });
}

kj::Promise<absl::StatusOr<KeyStatus>> AsyncClient::rotate_key(const std::string& key_file) {
  return call<rpc::Admin::RotateKeyResults>(
      [&] {
        auto request = api_.adminRequest().send().getAdmin().rotateKeyRequest();
        request.setKeyFile(text_of(key_file));
        return request.send();
      },
      [](capnp::Response<rpc::Admin::RotateKeyResults>& r) -> absl::StatusOr<KeyStatus> {
        return key_status_of(r.getStatus());
      });
}

kj::Promise<absl::StatusOr<KeyStatus>> AsyncClient::retire_key(uint32_t key_id) {
  return call<rpc::Admin::RetireKeyResults>(
      [&] {
        auto request = api_.adminRequest().send().getAdmin().retireKeyRequest();
        request.setKeyId(key_id);
        return request.send();
      },
      [](capnp::Response<rpc::Admin::RetireKeyResults>& r) -> absl::StatusOr<KeyStatus> {
        return key_status_of(r.getStatus());
      });
}

}  // namespace meridian::client
