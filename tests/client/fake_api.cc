// The fake API's servers: just enough behaviour to check what the client sends and decodes.
#include "tests/client/fake_api.h"

#include <capnp/message.h>

#include <future>

#include "absl/status/status.h"
#include "schema/convert.h"
#include "schema/rpc_status.h"

namespace meridian::testing {
namespace {

PointId read_id(rpc::PointId::Reader id) {
  auto parsed = point_id_from_rpc(id);
  if (!parsed.ok()) throw_status(parsed.status());
  return *parsed;
}

void check_collection(capnp::Text::Reader name) {
  if (name == "missing") throw_status(absl::NotFoundError("no collection missing"));
}

void write_point(const PointId& id, const FakePoint& point, bool with_vector, bool with_payload,
                 rpc::Point::Builder out) {
  point_id_to_rpc(id, out.initId());
  if (with_vector) {
    auto v = out.initVector(point.vector.size());
    for (uint32_t i = 0; i < point.vector.size(); ++i) v.set(i, point.vector[i]);
  }
  if (with_payload) out.setPayload(point.payload);
}

class FakeApi final : public rpc::Api::Server {
 public:
  explicit FakeApi(FakeStore& store) : store_(store) {}

  kj::Promise<void> status(StatusContext context) override {
    auto s = context.getResults().initStatus();
    s.setVersion("fake-1");
    s.setNodeId("abcd");
    s.setUptimeMs(1234);
    s.setCollections(1);
    s.setPoints(store_.size());
    s.setDataDir("/fake");
    // A clustered node with mutual TLS, one of whose peers is quarantined.
    s.setRegion("eu");
    s.setPeerAddress("127.0.0.1:7701");
    s.setPeerTls(true);
    s.setTlsRefused(2);
    auto peers = s.initReplication(2);
    peers[0].setCollection("c");
    peers[0].setNodeId("0123456789");
    peers[0].setRegion("us");
    peers[0].setConnected(true);
    peers[1].setCollection("c");
    peers[1].setNodeId("9876543210");
    peers[1].setRegion("ap");
    peers[1].setConnected(true);
    peers[1].setQuarantined(true);
    peers[1].setQuarantineReason("remote delta: dimension 2, expected 3");
    // A shard replica being handed off, waiting for one of its owners.
    auto handoffs = s.initHandoffs(1);
    handoffs[0].setCollection("c");
    handoffs[0].setShard(3);
    handoffs[0].setForwardingWrites(false);
    auto lagging = handoffs[0].initLagging(1);
    lagging[0].setNodeId("5555666677");
    lagging[0].setReason("not connected");
    return kj::READY_NOW;
  }

  kj::Promise<void> createCollection(CreateCollectionContext context) override {
    auto config = context.getParams().getConfig();
    if (config.getName() == "dup") throw_status(absl::AlreadyExistsError("collection dup exists"));
    auto info = context.getResults().initInfo();
    info.setConfig(config);
    return kj::READY_NOW;
  }

  kj::Promise<void> listCollections(ListCollectionsContext context) override {
    auto list = context.getResults().initCollections(1);
    auto config = list[0].initConfig();
    config.setName("c");
    config.setDim(2);
    config.setMetric(rpc::Metric::COSINE);
    list[0].setPointCount(store_.size());
    list[0].setStoredBytes(99);
    return kj::READY_NOW;
  }

  kj::Promise<void> collectionInfo(CollectionInfoContext context) override {
    check_collection(context.getParams().getName());
    auto info = context.getResults().initInfo();
    auto config = info.initConfig();
    config.setName(context.getParams().getName());
    config.setDim(2);
    if (context.getParams().getName() == "contested") {
      // A create of the same name in region "us" with other settings lost to this one.
      auto lost = info.initConflicts(1)[0];
      lost.setRegion("us");
      lost.setCreatedMs(1'764'921'601'123);  // 2025-12-05T08:00:01.123Z
      lost.setIncarnation(77);
      auto lost_config = lost.initConfig();
      lost_config.setName("contested");
      lost_config.setDim(16);
      lost_config.setMetric(rpc::Metric::DOT);
      lost.setDropped(true);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> dropCollection(DropCollectionContext context) override {
    check_collection(context.getParams().getName());
    return kj::READY_NOW;
  }

  kj::Promise<void> upsert(UpsertContext context) override {
    check_collection(context.getParams().getCollection());
    auto points = context.getParams().getPoints();
    for (auto p : points) {
      std::vector<float> v;
      for (float x : p.getVector()) v.push_back(x);
      store_[read_id(p.getId())] = FakePoint{std::move(v), p.getPayload()};
    }
    auto result = context.getResults().initResult();
    result.setApplied(points.size());
    result.setCausalToken(kj::StringPtr("tok").asBytes());
    return kj::READY_NOW;
  }

  kj::Promise<void> delete_(DeleteContext context) override {
    uint32_t applied = 0;
    for (auto id : context.getParams().getIds()) applied += store_.erase(read_id(id));
    context.getResults().initResult().setApplied(applied);
    return kj::READY_NOW;
  }

  kj::Promise<void> get(GetContext context) override {
    auto params = context.getParams();
    std::vector<std::pair<PointId, const FakePoint*>> found;
    for (auto id : params.getIds()) {
      auto it = store_.find(read_id(id));
      if (it != store_.end()) found.emplace_back(it->first, &it->second);
    }
    auto out = context.getResults().initPoints(found.size());
    for (uint32_t i = 0; i < found.size(); ++i) {
      write_point(found[i].first, *found[i].second, params.getWithVector(), params.getWithPayload(),
                  out[i]);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> count(CountContext context) override {
    check_collection(context.getParams().getCollection());
    context.getResults().setCount(store_.size());
    return kj::READY_NOW;
  }

  // Pages of `limit` points; the cursor is the decimal index of the next point.
  kj::Promise<void> scroll(ScrollContext context) override {
    auto params = context.getParams();
    size_t start =
        params.getCursor().size() == 0
            ? 0
            : std::stoul(std::string(reinterpret_cast<const char*>(params.getCursor().begin()),
                                     params.getCursor().size()));
    size_t limit = params.getLimit() == 0 ? 100 : params.getLimit();
    auto it = store_.begin();
    std::advance(it, std::min(start, store_.size()));
    size_t n = std::min(limit, store_.size() - std::min(start, store_.size()));
    auto out = context.getResults().initPoints(n);
    for (size_t i = 0; i < n; ++i, ++it) {
      write_point(it->first, it->second, params.getWithVector(), params.getWithPayload(), out[i]);
    }
    if (start + n < store_.size()) {
      std::string next = std::to_string(start + n);
      context.getResults().setNextCursor(kj::StringPtr(next.c_str()).asBytes());
    }
    return kj::READY_NOW;
  }

  // Every query gets the stored points in id order, up to k, with scores 0, 1, 2, ...
  kj::Promise<void> search(SearchContext context) override {
    auto request = context.getParams().getRequest();
    check_collection(request.getCollection());
    if (request.getK() == 0) throw_status(absl::InvalidArgumentError("k must be at least 1"));
    const uint32_t queries = request.getQueries().size() / 2;
    auto results = context.getResults().initResults(queries);
    for (uint32_t q = 0; q < queries; ++q) {
      size_t n = std::min<size_t>(request.getK(), store_.size());
      auto points = results[q].initPoints(n);
      auto it = store_.begin();
      for (uint32_t i = 0; i < n; ++i, ++it) {
        point_id_to_rpc(it->first, points[i].initId());
        points[i].setScore(static_cast<float>(i));
        if (request.getWithPayload()) points[i].setPayload(it->second.payload);
      }
    }
    return kj::READY_NOW;
  }

 private:
  FakeStore& store_;
};

class FakeGate final : public rpc::Gate::Server {
 public:
  explicit FakeGate(FakeStore& store) : store_(store) {}

  kj::Promise<void> open(OpenContext context) override {
    if (context.getParams().getClientName() == "banned") {
      throw_status(absl::PermissionDeniedError("client banned"));
    }
    context.getResults().setApi(kj::heap<FakeApi>(store_));
    context.getResults().setServerVersion("fake-1");
    return kj::READY_NOW;
  }

 private:
  FakeStore& store_;
};

struct Connection {
  Connection(kj::Own<kj::AsyncIoStream> s, FakeStore& store)
      : stream(kj::mv(s)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER),
        rpc_system(capnp::makeRpcServer(network, make_fake_gate(store))) {}
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc_system;
};

}  // namespace

kj::Own<rpc::Gate::Server> make_fake_gate(FakeStore& store) { return kj::heap<FakeGate>(store); }

kj::Promise<void> serve_one_connection(kj::ConnectionReceiver& listener, FakeStore& store) {
  return listener.accept().then([&store](kj::Own<kj::AsyncIoStream> stream) {
    auto connection = kj::heap<Connection>(kj::mv(stream), store);
    return connection->network.onDisconnect().attach(kj::mv(connection));
  });
}

FakeServerThread::FakeServerThread() {
  std::promise<unsigned> port;
  auto port_future = port.get_future();
  thread_ = std::thread([this, &port] {
    auto io = kj::setupAsyncIo();
    auto address = io.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(io.waitScope);
    auto listener = address->listen();
    port.set_value(listener->getPort());
    // Gives up after a while so a test that never connects cannot hang the join.
    serve_one_connection(*listener, store_)
        .exclusiveJoin(io.provider->getTimer().afterDelay(30 * kj::SECONDS))
        .wait(io.waitScope);
  });
  port_ = port_future.get();
}

FakeServerThread::~FakeServerThread() { thread_.join(); }

}  // namespace meridian::testing
