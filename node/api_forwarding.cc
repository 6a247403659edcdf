// The API server's forwarding of the parts of a request for shards this node does not hold to
// the nodes of its region that do (docs/sharding.md, "Forwarding"). The local parts go through the
// request router as before; each other shard's part goes to a holder of that shard with
// forwardShard set (so it is never forwarded again); the answers are combined: applied counts
// summed, causal tokens joined into the composite token, write concerns confirmed when every
// part's is, gets put back in request order, counts summed, search hits merged by the metric.
#include <set>

#include "absl/strings/str_cat.h"
#include "kj/vector.h"
#include "node/api_codec.h"
#include "node/api_server.h"
#include "node/request_validation.h"
#include "schema/convert.h"
#include "schema/shard_hash.h"

namespace meridian::node {
namespace {

// What forward_ids_write needs of an ApiServer::ShardPlan (a private type of the server).
struct ApiServerPlanView {
  CollectionConfig config;
  std::vector<uint32_t> local;
};

// One shard's (or the local shards') part of a write.
struct WritePart {
  uint32_t applied = 0;
  std::string token;
  bool confirmed = true;
  std::vector<std::string> missing_regions;
};

WritePart write_part_of(rpc::WriteResult::Reader result) {
  WritePart out;
  out.applied = result.getApplied();
  out.token = bytes_of(result.getCausalToken());
  if (result.hasReplication()) {
    out.confirmed = result.getReplication().getConfirmed();
    for (auto r : result.getReplication().getMissingRegions()) {
      out.missing_regions.push_back(text_of(r));
    }
  }
  return out;
}

// The composite token of a write to `config` from its parts' tokens.
std::string join_tokens(const CollectionConfig& config, const std::vector<WritePart>& parts) {
  if (config.shard_count == 1) {
    for (const auto& p : parts) {
      if (!p.token.empty()) return p.token;
    }
    return "";
  }
  std::map<uint32_t, std::string> by_shard;
  for (const auto& p : parts) {
    if (p.token.empty()) continue;
    for (auto& t : value_or_throw(decode_shard_token(p.token))) {
      by_shard[t.shard] = std::move(t.token);
    }
  }
  std::vector<ShardToken> tokens;
  for (auto& [shard, token] : by_shard) tokens.push_back({shard, std::move(token)});
  return encode_shard_token(tokens);
}

// Positions in `ids` per shard.
std::map<uint32_t, std::vector<size_t>> split_ids(std::span<const PointId> ids, uint32_t shards) {
  std::map<uint32_t, std::vector<size_t>> out;
  for (size_t i = 0; i < ids.size(); ++i) out[shard_of(ids[i], shards)].push_back(i);
  return out;
}

bool contains(const std::vector<uint32_t>& shards, uint32_t shard) {
  return std::find(shards.begin(), shards.end(), shard) != shards.end();
}

// Writes the combined outcome of a forwarded write into `out`.
void fill_combined(const CollectionConfig& config, std::vector<WritePart>& parts,
                   bool with_replication, uint32_t waited_ms, rpc::WriteResult::Builder out) {
  uint32_t applied = 0;
  bool confirmed = true;
  std::set<std::string> missing;
  for (const auto& p : parts) {
    applied += p.applied;
    confirmed = confirmed && p.confirmed;
    missing.insert(p.missing_regions.begin(), p.missing_regions.end());
  }
  out.setApplied(applied);
  const std::string token = join_tokens(config, parts);
  out.setCausalToken(data_of(token));
  if (!with_replication) return;
  auto replication = out.initReplication();
  replication.setConfirmed(confirmed);
  auto list = replication.initMissingRegions(static_cast<unsigned>(missing.size()));
  unsigned i = 0;
  for (const auto& r : missing) list.set(i++, r);
  replication.setWaitedMs(waited_ms);
}

WriteConcern concern_of(rpc::WriteConcern concern) {
  switch (concern) {
    case rpc::WriteConcern::LOCAL:
      return WriteConcern::kLocal;
    case rpc::WriteConcern::REGION:
      return WriteConcern::kRegion;
    case rpc::WriteConcern::ALL_REGIONS:
      return WriteConcern::kAllRegions;
  }
  throw_status(absl::InvalidArgumentError("unknown write concern"));
}

}  // namespace

std::optional<ApiServer::ShardPlan> ApiServer::plan(const std::string& collection,
                                                    bool for_write) const {
  if (info_.forwarder == nullptr) return std::nullopt;
  auto config = router_.config_of(collection);
  if (!config.ok()) return std::nullopt;
  ShardPlan out;
  out.config = *config;
  for (uint32_t s = 0; s < config->shard_count; ++s) {
    const bool here =
        router_.holds(collection, s) &&
        !(for_write && info_.cluster != nullptr && info_.cluster->forwards_writes(collection, s));
    (here ? out.local : out.remote).push_back(s);
  }
  if (out.remote.empty()) return std::nullopt;
  return out;
}

ApiServer::ShardPlan ApiServer::replan(const std::string& collection, ShardPlan planned) const {
  if (auto fresh = plan(collection, true)) return *std::move(fresh);
  planned.local.clear();
  planned.remote.clear();
  for (uint32_t s = 0; s < planned.config.shard_count; ++s) planned.local.push_back(s);
  return planned;
}

ApiServer::SplitToken ApiServer::split_token(const ShardPlan& plan, const std::string& token) {
  SplitToken out;
  if (token.empty()) return out;
  if (plan.config.shard_count == 1) {
    // A one-shard collection's token is its replica's version vector, as before sharding.
    if (plan.local.empty()) {
      out.remote[0] = token;
    } else {
      out.local = token;
    }
    return out;
  }
  std::vector<ShardToken> local;
  for (auto& t : value_or_throw(decode_shard_token(token))) {
    if (t.shard >= plan.config.shard_count) {
      throw_status(absl::InvalidArgumentError(absl::StrCat("consistency token names shard ",
                                                           t.shard, " of a collection of ",
                                                           plan.config.shard_count, " shards")));
    }
    if (contains(plan.local, t.shard)) {
      local.push_back(std::move(t));
    } else {
      out.remote[t.shard] = encode_shard_token({t});
    }
  }
  if (!local.empty()) out.local = encode_shard_token(local);
  return out;
}

void ApiServer::check_forwarded(const std::string& collection, int32_t shard) const {
  if (!router_.holds(collection, static_cast<uint32_t>(shard))) {
    throw_status(absl::UnavailableError(absl::StrCat("shard ", shard, " of collection '",
                                                     collection, "' is not held on this node")));
  }
}

namespace {

// Runs after the local part committed: waits for the local commits' concern and every forwarded
// part, then answers.
template <typename Context>
kj::Promise<void> finish_write(Context context, const CollectionConfig& config,
                               kj::Promise<WriteConfirmation> local_confirmation,
                               WritePart local_part, kj::Array<kj::Promise<WritePart>> remote,
                               bool with_replication, kj::Timer* timer) {
  const kj::TimePoint start = timer != nullptr ? timer->now() : kj::origin<kj::TimePoint>();
  return local_confirmation.then([context, config, local_part = kj::mv(local_part),
                                  remote = kj::mv(remote), with_replication, timer,
                                  start](WriteConfirmation confirmation) mutable {
    local_part.confirmed = confirmation.confirmed;
    local_part.missing_regions = confirmation.missing_regions;
    return kj::joinPromises(kj::mv(remote))
        .then([context, config, local_part = kj::mv(local_part), with_replication, timer,
               start](kj::Array<WritePart> parts) mutable {
          std::vector<WritePart> all{std::move(local_part)};
          for (auto& p : parts) all.push_back(std::move(p));
          const uint32_t waited =
              timer != nullptr ? static_cast<uint32_t>((timer->now() - start) / kj::MILLISECONDS)
                               : 0;
          fill_combined(config, all, with_replication, waited, context.getResults().initResult());
        });
  });
}

}  // namespace

kj::Promise<void> ApiServer::upsert_forwarding(UpsertContext context, ShardPlan plan,
                                               std::vector<storage::PointRecord> records) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  // A replica here handed off since the write was planned: its part goes to the owners.
  plan = replan(collection, std::move(plan));
  const WriteConcern concern = concern_of(params.getWriteConcern());
  const uint32_t timeout_ms =
      params.getTimeoutMs() == 0 ? kDefaultWriteTimeoutMs : params.getTimeoutMs();
  if (timeout_ms > kMaxWriteTimeoutMs) {
    throw_status(absl::InvalidArgumentError(
        absl::StrCat("timeoutMs ", timeout_ms, " is above the maximum of ", kMaxWriteTimeoutMs)));
  }
  // The whole batch is validated before any part is written, here or elsewhere.
  ok_or_throw(validate_points(plan.config, records));
  std::vector<PointId> ids;
  for (const auto& r : records) ids.push_back(r.id);
  const auto parts = split_ids(ids, plan.config.shard_count);
  std::vector<storage::PointRecord> local;
  std::map<uint32_t, std::vector<storage::PointRecord>> remote;
  for (const auto& [shard, positions] : parts) {
    auto& into = contains(plan.local, shard) ? local : remote[shard];
    for (size_t i : positions) into.push_back(std::move(records[i]));
  }
  WritePart local_part;
  kj::Promise<WriteConfirmation> local_confirmation = WriteConfirmation{true, {}};
  if (!local.empty()) {
    RoutedWrite outcome = value_or_throw(router_.upsert(collection, std::move(local)));
    local_part.applied = outcome.applied;
    local_part.token = outcome.causal_token;
    if (concern != WriteConcern::kLocal && info_.timer != nullptr && info_.cluster != nullptr) {
      local_confirmation = confirm_write(outcome.commits, concern,
                                         info_.timer->now() + timeout_ms * kj::MILLISECONDS);
    }
  }
  auto sends = kj::heapArrayBuilder<kj::Promise<WritePart>>(remote.size());
  for (auto& [shard, points] : remote) {
    auto shared = std::make_shared<const std::vector<storage::PointRecord>>(std::move(points));
    const rpc::WriteConcern wire_concern = params.getWriteConcern();
    const uint32_t s = shard;
    sends.add(info_.forwarder->call<WritePart>(
        plan.config, shard,
        [collection, shared, wire_concern, timeout_ms, s](rpc::Api::Client api) {
          auto request = api.upsertRequest();
          request.setCollection(collection);
          auto list = request.initPoints(static_cast<unsigned>(shared->size()));
          for (size_t i = 0; i < shared->size(); ++i) fill_point((*shared)[i], true, true, list[i]);
          request.setWriteConcern(wire_concern);
          request.setTimeoutMs(timeout_ms);
          request.setForwardShard(static_cast<int32_t>(s));
          return request.send().then([](capnp::Response<rpc::Api::UpsertResults>&& response) {
            return write_part_of(response.getResult());
          });
        }));
  }
  return finish_write(context, plan.config, kj::mv(local_confirmation), kj::mv(local_part),
                      sends.finish(), concern != WriteConcern::kLocal, info_.timer);
}

kj::Promise<void> ApiServer::delete_forwarding(DeleteContext context, ShardPlan plan,
                                               std::vector<PointId> ids) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  plan = replan(collection, std::move(plan));
  const WriteConcern concern = concern_of(params.getWriteConcern());
  const uint32_t timeout_ms =
      params.getTimeoutMs() == 0 ? kDefaultWriteTimeoutMs : params.getTimeoutMs();
  if (timeout_ms > kMaxWriteTimeoutMs) {
    throw_status(absl::InvalidArgumentError(
        absl::StrCat("timeoutMs ", timeout_ms, " is above the maximum of ", kMaxWriteTimeoutMs)));
  }
  const auto parts = split_ids(ids, plan.config.shard_count);
  std::vector<PointId> local;
  std::map<uint32_t, std::vector<PointId>> remote;
  for (const auto& [shard, positions] : parts) {
    auto& into = contains(plan.local, shard) ? local : remote[shard];
    for (size_t i : positions) into.push_back(ids[i]);
  }
  WritePart local_part;
  kj::Promise<WriteConfirmation> local_confirmation = WriteConfirmation{true, {}};
  if (!local.empty()) {
    RoutedWrite outcome = value_or_throw(router_.remove(collection, local));
    local_part.applied = outcome.applied;
    local_part.token = outcome.causal_token;
    if (concern != WriteConcern::kLocal && info_.timer != nullptr && info_.cluster != nullptr) {
      local_confirmation = confirm_write(outcome.commits, concern,
                                         info_.timer->now() + timeout_ms * kj::MILLISECONDS);
    }
  }
  auto sends = kj::heapArrayBuilder<kj::Promise<WritePart>>(remote.size());
  for (auto& [shard, part] : remote) {
    auto shared = std::make_shared<const std::vector<PointId>>(std::move(part));
    const rpc::WriteConcern wire_concern = params.getWriteConcern();
    const uint32_t s = shard;
    sends.add(info_.forwarder->call<WritePart>(
        plan.config, shard,
        [collection, shared, wire_concern, timeout_ms, s](rpc::Api::Client api) {
          auto request = api.deleteRequest();
          request.setCollection(collection);
          auto list = request.initIds(static_cast<unsigned>(shared->size()));
          for (size_t i = 0; i < shared->size(); ++i) point_id_to_rpc((*shared)[i], list[i]);
          request.setWriteConcern(wire_concern);
          request.setTimeoutMs(timeout_ms);
          request.setForwardShard(static_cast<int32_t>(s));
          return request.send().then([](capnp::Response<rpc::Api::DeleteResults>&& response) {
            return write_part_of(response.getResult());
          });
        }));
  }
  return finish_write(context, plan.config, kj::mv(local_confirmation), kj::mv(local_part),
                      sends.finish(), concern != WriteConcern::kLocal, info_.timer);
}

kj::Promise<void> ApiServer::get_forwarding(GetContext context, ShardPlan plan) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  ok_or_throw(validate_batch_size(params.getIds().size(), "ids"));
  auto ids = std::make_shared<std::vector<PointId>>(read_ids(params.getIds()));
  SplitToken token = split_token(plan, bytes_of(params.getConsistencyToken()));
  const auto parts = split_ids(*ids, plan.config.shard_count);
  std::vector<PointId> local;
  using Found = std::vector<storage::PointRecord>;
  kj::Vector<kj::Promise<Found>> sends;  // local shards share one entry, maybe none
  for (const auto& [shard, positions] : parts) {
    std::vector<PointId> part;
    for (size_t i : positions) part.push_back((*ids)[i]);
    if (contains(plan.local, shard)) {
      local.insert(local.end(), part.begin(), part.end());
      continue;
    }
    auto shared = std::make_shared<const std::vector<PointId>>(std::move(part));
    const uint32_t s = shard;
    const std::string shard_token = token.remote.contains(s) ? token.remote[s] : "";
    sends.add(info_.forwarder->call<Found>(
        plan.config, shard, [collection, shared, shard_token, s](rpc::Api::Client api) {
          auto request = api.getRequest();
          request.setCollection(collection);
          auto list = request.initIds(static_cast<unsigned>(shared->size()));
          for (size_t i = 0; i < shared->size(); ++i) point_id_to_rpc((*shared)[i], list[i]);
          request.setWithVector(true);
          request.setWithPayload(true);
          request.setConsistencyToken(data_of(shard_token));
          request.setForwardShard(static_cast<int32_t>(s));
          return request.send().then([](capnp::Response<rpc::Api::GetResults>&& response) {
            Found out;
            for (auto p : response.getPoints()) out.push_back(point_from_rpc(p));
            return out;
          });
        }));
  }
  if (!local.empty()) {
    sends.add(await_token(collection, token.local).then([this, collection, local]() {
      Found out;
      for (auto& r : value_or_throw(router_.get(collection, local))) {
        if (r) out.push_back(std::move(*r));
      }
      return out;
    }));
  }
  return kj::joinPromises(sends.releaseAsArray())
      .then([context, ids](kj::Array<Found> found) mutable {
        std::map<PointId, const storage::PointRecord*> by_id;
        for (const auto& part : found) {
          for (const auto& r : part) by_id[r.id] = &r;
        }
        auto params = context.getParams();
        unsigned n = 0;
        for (const auto& id : *ids) n += by_id.contains(id);
        auto out = context.getResults().initPoints(n);
        unsigned i = 0;
        for (const auto& id : *ids) {
          auto it = by_id.find(id);
          if (it == by_id.end()) continue;
          fill_point(*it->second, params.getWithVector(), params.getWithPayload(), out[i++]);
        }
      });
}

kj::Promise<void> ApiServer::count_forwarding(CountContext context, ShardPlan plan) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  SplitToken token = split_token(plan, bytes_of(params.getConsistencyToken()));
  kj::Vector<kj::Promise<uint64_t>> sends(plan.remote.size() + 1);
  for (uint32_t s : plan.remote) {
    const std::string shard_token = token.remote.contains(s) ? token.remote[s] : "";
    sends.add(info_.forwarder->call<uint64_t>(
        plan.config, s, [collection, shard_token, s](rpc::Api::Client api) {
          auto request = api.countRequest();
          request.setCollection(collection);
          request.setConsistencyToken(data_of(shard_token));
          request.setForwardShard(static_cast<int32_t>(s));
          return request.send().then([](capnp::Response<rpc::Api::CountResults>&& response) {
            return response.getCount();
          });
        }));
  }
  if (!plan.local.empty()) {
    sends.add(await_token(collection, token.local).then([this, collection, local = plan.local]() {
      return value_or_throw(router_.count(collection, local));
    }));
  }
  return kj::joinPromises(sends.releaseAsArray())
      .then([context](kj::Array<uint64_t> counts) mutable {
        uint64_t total = 0;
        for (uint64_t c : counts) total += c;
        context.getResults().setCount(total);
      });
}

kj::Promise<void> ApiServer::scroll_forwarding(ScrollContext context, ShardPlan plan) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  const std::string cursor = bytes_of(params.getCursor());
  SplitToken token = split_token(plan, bytes_of(params.getConsistencyToken()));
  const uint32_t shard_count = plan.config.shard_count;
  // One shard per page: the page ends where the cursor's shard ends (a short page is no end;
  // only an empty cursor is).
  uint32_t shard = 0;
  if (shard_count > 1 && !cursor.empty()) {
    shard = static_cast<uint8_t>(cursor[0]);
    if (shard >= shard_count) {
      throw_status(absl::InvalidArgumentError("malformed scroll cursor: shard out of range"));
    }
  }
  // A multi-shard page starts at the shard's beginning when the cursor names only the shard.
  const std::string shard_cursor =
      shard_count > 1 && cursor.empty() ? std::string(1, static_cast<char>(0)) : cursor;
  const uint32_t limit = params.getLimit();
  kj::Promise<storage::ScrollPage> page = nullptr;
  if (contains(plan.local, shard)) {
    page = await_token(collection, token.local)
               .then([this, collection, shard_cursor, limit, shard, shard_count]() {
                 return value_or_throw(router_.scroll(
                     collection, shard_cursor, limit,
                     shard_count > 1 ? std::optional<uint32_t>(shard) : std::nullopt));
               });
  } else {
    const std::string shard_token = token.remote.contains(shard) ? token.remote[shard] : "";
    page = info_.forwarder->call<storage::ScrollPage>(
        plan.config, shard,
        [collection, shard_cursor, limit, shard_token, shard](rpc::Api::Client api) {
          auto request = api.scrollRequest();
          request.setCollection(collection);
          request.setCursor(data_of(shard_cursor));
          request.setLimit(limit);
          request.setWithVector(true);
          request.setWithPayload(true);
          request.setConsistencyToken(data_of(shard_token));
          request.setForwardShard(static_cast<int32_t>(shard));
          return request.send().then([](capnp::Response<rpc::Api::ScrollResults>&& response) {
            storage::ScrollPage out;
            for (auto p : response.getPoints()) out.points.push_back(point_from_rpc(p));
            out.next_cursor = bytes_of(response.getNextCursor());
            return out;
          });
        });
  }
  return page.then([context, shard, shard_count](storage::ScrollPage page) mutable {
    if (page.next_cursor.empty() && shard + 1 < shard_count) {
      page.next_cursor = std::string(1, static_cast<char>(shard + 1));
    }
    auto params = context.getParams();
    auto results = context.getResults();
    auto out = results.initPoints(static_cast<unsigned>(page.points.size()));
    for (size_t i = 0; i < page.points.size(); ++i) {
      fill_point(page.points[i], params.getWithVector(), params.getWithPayload(), out[i]);
    }
    results.setNextCursor(data_of(page.next_cursor));
  });
}

kj::Promise<void> ApiServer::search_forwarding(SearchContext context, ShardPlan plan) {
  auto request = context.getParams().getRequest();
  const std::string collection = text_of(request.getCollection());
  SplitToken token = split_token(plan, bytes_of(request.getConsistencyToken()));
  auto queries = std::make_shared<const std::vector<float>>(floats_of(request.getQueries()));
  node::SearchParams params;
  params.k = request.getK();
  params.with_payload = request.getWithPayload();
  params.with_vector = request.getWithVector();
  params.ef = request.getEf();
  params.nprobe = request.getNprobe();
  params.filter_json = text_of(request.getFilter());
  using Hits = std::vector<std::vector<SearchHit>>;
  kj::Vector<kj::Promise<Hits>> sends(plan.remote.size() + 1);
  for (uint32_t s : plan.remote) {
    const std::string shard_token = token.remote.contains(s) ? token.remote[s] : "";
    sends.add(info_.forwarder->call<Hits>(
        plan.config, s, [collection, queries, params, shard_token, s](rpc::Api::Client api) {
          auto forwarded = api.searchRequest();
          auto r = forwarded.initRequest();
          r.setCollection(collection);
          auto q = r.initQueries(static_cast<unsigned>(queries->size()));
          for (size_t i = 0; i < queries->size(); ++i) q.set(i, (*queries)[i]);
          r.setK(params.k);
          r.setWithPayload(params.with_payload);
          r.setWithVector(params.with_vector);
          r.setEf(params.ef);
          r.setNprobe(params.nprobe);
          r.setFilter(params.filter_json);
          r.setConsistencyToken(data_of(shard_token));
          r.setForwardShard(static_cast<int32_t>(s));
          return forwarded.send().then([](capnp::Response<rpc::Api::SearchResults>&& response) {
            return search_results_from_rpc(response.getResults());
          });
        }));
  }
  if (!plan.local.empty()) {
    sends.add(await_token(collection, token.local)
                  .then([this, collection, queries, params, local = plan.local]() {
                    return value_or_throw(router_.search(collection, *queries, params, local));
                  }));
  }
  const Metric metric = plan.config.metric;
  return kj::joinPromises(sends.releaseAsArray())
      .then([context, params, metric](kj::Array<Hits> parts) mutable {
        Hits merged;
        for (auto& part : parts) {
          if (merged.size() < part.size()) merged.resize(part.size());
          for (size_t q = 0; q < part.size(); ++q) {
            for (auto& h : part[q]) merged[q].push_back(std::move(h));
          }
        }
        merge_hits(metric, params.k, merged);
        fill_search_results(merged, params, context.getResults());
      });
}

namespace {

// A payload update of `ids`: `local` runs it on the ids of the shards held here, `send` sends the
// ids of one other shard to a holder (as forwardShard); answers with the combined outcome.
template <typename Context>
kj::Promise<void> forward_ids_write(
    Context context, ShardForwarder& forwarder, const ApiServerPlanView& plan,
    const std::vector<PointId>& ids,
    const std::function<RoutedWrite(const std::vector<PointId>&)>& local,
    std::function<kj::Promise<WritePart>(rpc::Api::Client, const std::vector<PointId>&, uint32_t)>
        send) {
  const auto parts = split_ids(ids, plan.config.shard_count);
  std::vector<PointId> here;
  std::map<uint32_t, std::vector<PointId>> remote;
  for (const auto& [shard, positions] : parts) {
    auto& into = contains(plan.local, shard) ? here : remote[shard];
    for (size_t i : positions) into.push_back(ids[i]);
  }
  WritePart local_part;
  if (!here.empty()) {
    RoutedWrite outcome = local(here);
    local_part.applied = outcome.applied;
    local_part.token = outcome.causal_token;
  }
  auto sends = kj::heapArrayBuilder<kj::Promise<WritePart>>(remote.size());
  for (auto& [shard, part] : remote) {
    auto shared = std::make_shared<const std::vector<PointId>>(std::move(part));
    const uint32_t s = shard;
    sends.add(forwarder.call<WritePart>(
        plan.config, shard,
        [shared, s, send](rpc::Api::Client api) { return send(kj::mv(api), *shared, s); }));
  }
  const CollectionConfig config = plan.config;
  return kj::joinPromises(sends.finish())
      .then([context, config, local_part = kj::mv(local_part)](kj::Array<WritePart> parts) mutable {
        std::vector<WritePart> all{std::move(local_part)};
        for (auto& p : parts) all.push_back(std::move(p));
        fill_combined(config, all, false, 0, context.getResults().initResult());
      });
}

void set_ids(const std::vector<PointId>& ids, capnp::List<rpc::PointId>::Builder out) {
  for (size_t i = 0; i < ids.size(); ++i) point_id_to_rpc(ids[i], out[i]);
}

}  // namespace

kj::Promise<void> ApiServer::set_payload_forwarding(SetPayloadContext context, ShardPlan plan) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  plan = replan(collection, std::move(plan));
  const std::string payload = text_of(params.getPayload());
  ok_or_throw(normalize_payload(payload, "payload").status());
  return forward_ids_write(
      context, *info_.forwarder, {plan.config, plan.local}, read_ids(params.getIds()),
      [&](const std::vector<PointId>& ids) {
        return value_or_throw(router_.set_payload(collection, ids, payload));
      },
      [collection, payload](rpc::Api::Client api, const std::vector<PointId>& ids, uint32_t s) {
        auto request = api.setPayloadRequest();
        request.setCollection(collection);
        set_ids(ids, request.initIds(static_cast<unsigned>(ids.size())));
        request.setPayload(payload);
        request.setForwardShard(static_cast<int32_t>(s));
        return request.send().then([](capnp::Response<rpc::Api::SetPayloadResults>&& response) {
          return write_part_of(response.getResult());
        });
      });
}

kj::Promise<void> ApiServer::overwrite_payload_forwarding(OverwritePayloadContext context,
                                                          ShardPlan plan) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  plan = replan(collection, std::move(plan));
  const std::string payload = text_of(params.getPayload());
  ok_or_throw(normalize_payload(payload, "payload").status());
  return forward_ids_write(
      context, *info_.forwarder, {plan.config, plan.local}, read_ids(params.getIds()),
      [&](const std::vector<PointId>& ids) {
        return value_or_throw(router_.overwrite_payload(collection, ids, payload));
      },
      [collection, payload](rpc::Api::Client api, const std::vector<PointId>& ids, uint32_t s) {
        auto request = api.overwritePayloadRequest();
        request.setCollection(collection);
        set_ids(ids, request.initIds(static_cast<unsigned>(ids.size())));
        request.setPayload(payload);
        request.setForwardShard(static_cast<int32_t>(s));
        return request.send().then(
            [](capnp::Response<rpc::Api::OverwritePayloadResults>&& response) {
              return write_part_of(response.getResult());
            });
      });
}

kj::Promise<void> ApiServer::delete_payload_keys_forwarding(DeletePayloadKeysContext context,
                                                            ShardPlan plan) {
  auto params = context.getParams();
  const std::string collection = text_of(params.getCollection());
  plan = replan(collection, std::move(plan));
  if (params.getKeys().size() > kMaxBatchPoints) {
    throw_status(absl::InvalidArgumentError("too many payload keys"));
  }
  std::vector<std::string> keys;
  for (auto k : params.getKeys()) keys.push_back(text_of(k));
  return forward_ids_write(
      context, *info_.forwarder, {plan.config, plan.local}, read_ids(params.getIds()),
      [&](const std::vector<PointId>& ids) {
        return value_or_throw(router_.delete_payload_keys(collection, ids, keys));
      },
      [collection, keys](rpc::Api::Client api, const std::vector<PointId>& ids, uint32_t s) {
        auto request = api.deletePayloadKeysRequest();
        request.setCollection(collection);
        set_ids(ids, request.initIds(static_cast<unsigned>(ids.size())));
        auto list = request.initKeys(static_cast<unsigned>(keys.size()));
        for (size_t i = 0; i < keys.size(); ++i) list.set(i, keys[i]);
        request.setForwardShard(static_cast<int32_t>(s));
        return request.send().then(
            [](capnp::Response<rpc::Api::DeletePayloadKeysResults>&& response) {
              return write_part_of(response.getResult());
            });
      });
}

}  // namespace meridian::node
