// Cap'n Proto API servers; see api_server.h. Every handler runs synchronously on the event
// loop thread and raises errors as tagged KJ exceptions (schema/rpc_status.h).
#include "node/api_server.h"

#include <capnp/message.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/api_codec.h"
#include "node/request_validation.h"
#include "schema/convert.h"
#include "schema/rpc_status.h"
#include "schema/shard_hash.h"

namespace meridian::node {
namespace {

void fill_write_result(const RoutedWrite& outcome, rpc::WriteResult::Builder out) {
  out.setApplied(outcome.applied);
  out.setCausalToken(
      capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(outcome.causal_token.data()),
                          outcome.causal_token.size()));
}

constexpr auto kTokenPollInterval = 10 * kj::MILLISECONDS;
// Acknowledgements arrive within a round trip to the peers; polling every 2 ms adds little to it.
constexpr auto kWritePollInterval = 2 * kj::MILLISECONDS;

// Runs a handler body. Our own failures already carry a status tag; anything else thrown
// while reading the request (a malformed or oversized message) is the caller's fault.
template <typename F>
kj::Promise<void> handle(F&& body) {
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() { body(); })) {
    absl::Status status = exception_to_status(*exception);
    if (status.code() == absl::StatusCode::kInternal &&
        exception->getType() == kj::Exception::Type::FAILED) {
      status = absl::InvalidArgumentError(
          absl::StrCat("malformed request: ", exception->getDescription().cStr()));
    }
    return status_to_exception(status);
  }
  return kj::READY_NOW;
}

void fill_collection_info(const CollectionInfo& info, rpc::CollectionInfo::Builder out) {
  collection_config_to_rpc(info.stored.config, out.initConfig());
  out.setPointCount(info.point_count);
  out.setStoredBytes(info.stored_bytes);
  out.setDigest(info.digest);
  const SegmentStats& seg = info.segments;
  auto segments = out.initSegments();
  segments.setGrowingPoints(seg.growing_points);
  segments.setSealedSegments(seg.sealed_segments);
  segments.setSealedPoints(seg.sealed_points);
  segments.setPendingSegments(seg.pending_segments);
  segments.setBuildPending(seg.build_pending);
  segments.setBuilds(seg.builds);
  segments.setLoadedSegments(seg.loaded_segments);
  segments.setBuiltAtStart(seg.built_at_start);
  segments.setRejectedFiles(seg.rejected_files);
}

void fill_catalog_conflicts(const std::vector<CatalogEntry>& conflicts,
                            rpc::CollectionInfo::Builder out) {
  auto list = out.initConflicts(static_cast<unsigned>(conflicts.size()));
  for (size_t i = 0; i < conflicts.size(); ++i) {
    list[i].setRegion(conflicts[i].region);
    list[i].setCreatedMs(conflicts[i].created_ms);
    list[i].setIncarnation(conflicts[i].incarnation);
    collection_config_to_rpc(conflicts[i].config, list[i].initConfig());
    list[i].setDropped(conflicts[i].dropped);
  }
}

}  // namespace

kj::Promise<void> GateServer::open(OpenContext context) {
  auto results = context.getResults();
  results.setApi(kj::heap<ApiServer>(node_, info_));
  results.setServerVersion(info_.version);
  return kj::READY_NOW;
}

namespace {

// A read is planned (which shards are held here) when it arrives, and its local part runs on a
// later turn (after any token wait). A replica handed off in between (retired_replicas() moved)
// makes the local part fail with Unavailable: the read is then planned and run once more, and
// goes to the shard's new holder. A forwarded part (`forwarded()`) is not rerun here: its
// coordinator tries the shard's next holder.
template <typename Forwarded, typename Run>
kj::Promise<void> rerun_if_handed_off(const ClusterService* cluster, Forwarded forwarded, Run run) {
  if (cluster == nullptr) return run();
  const uint64_t before = cluster->retired_replicas();
  return kj::evalNow([&] { return run(); })
      .catch_([cluster, before, forwarded, run](kj::Exception&& e) mutable -> kj::Promise<void> {
        if (cluster->retired_replicas() == before ||
            exception_to_status(e).code() != absl::StatusCode::kUnavailable || forwarded()) {
          return kj::mv(e);
        }
        return run();
      });
}

void fill_cluster_status(const ClusterStatus& cluster, rpc::NodeStatus::Builder out) {
  out.setRegion(cluster.region);
  out.setPeerAddress(cluster.peer_address);
  out.setPeerTls(cluster.peer_tls);
  out.setTlsRefused(cluster.tls_refused);
  auto members = out.initMembers(cluster.members.size());
  for (size_t i = 0; i < cluster.members.size(); ++i) {
    const MemberStatus& m = cluster.members[i];
    members[i].setNodeId(m.info.node_id);
    members[i].setRegion(m.info.region);
    members[i].setClientAddress(m.info.client_address);
    members[i].setPeerAddress(m.info.peer_address);
    members[i].setUp(m.up);
  }
  auto peers = out.initReplication(cluster.peers.size());
  for (size_t i = 0; i < cluster.peers.size(); ++i) {
    const PeerReplicationStatus& p = cluster.peers[i];
    peers[i].setCollection(p.collection);
    peers[i].setNodeId(p.node_id);
    peers[i].setRegion(p.region);
    peers[i].setConnected(p.connected);
    peers[i].setLagDeltas(p.lag_deltas);
    peers[i].setLagMs(p.lag_ms);
    peers[i].setBytesSent(p.bytes_sent);
    peers[i].setFullStateTransfers(p.full_state_transfers);
    peers[i].setFullStatesReceived(p.full_states_received);
    peers[i].setReconnects(p.reconnects);
    peers[i].setQuarantined(p.quarantined);
    peers[i].setQuarantineReason(p.quarantine_reason);
    peers[i].setShard(p.shard);
  }
  auto handoffs = out.initHandoffs(static_cast<unsigned>(cluster.handoffs.size()));
  for (size_t i = 0; i < cluster.handoffs.size(); ++i) {
    const ShardHandoffStatus& h = cluster.handoffs[i];
    handoffs[i].setCollection(h.collection);
    handoffs[i].setShard(h.shard);
    handoffs[i].setForwardingWrites(h.forwarding_writes);
    auto lagging = handoffs[i].initLagging(static_cast<unsigned>(h.lagging.size()));
    for (size_t j = 0; j < h.lagging.size(); ++j) {
      lagging[j].setNodeId(h.lagging[j].node_id);
      lagging[j].setReason(h.lagging[j].reason);
    }
  }
}

}  // namespace

kj::Promise<void> ApiServer::status(StatusContext context) {
  return handle([&] {
    auto out = context.getResults().initStatus();
    NodeStats stats = node_.stats();
    out.setVersion(info_.version);
    out.setNodeId(node_.node_id());
    out.setUptimeMs(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - info_.started)
                                              .count()));
    out.setCollections(stats.collections);
    out.setPoints(stats.points);
    out.setDataDir(info_.data_dir);
    out.setIntegrityFailures(stats.integrity_failures);
    if (info_.cluster != nullptr) fill_cluster_status(info_.cluster->status(), out);
    auto locals = value_or_throw(node_.list_collections());
    auto shards = out.initShards(static_cast<unsigned>(locals.size()));
    for (size_t i = 0; i < locals.size(); ++i) {
      auto parsed = value_or_throw(parse_shard_replica_name(locals[i].stored.config.name));
      shards[i].setCollection(parsed.collection);
      shards[i].setShard(parsed.shard);
      shards[i].setShardCount(locals[i].stored.config.shard_count);
      shards[i].setPoints(locals[i].point_count);
    }
  });
}

kj::Promise<void> ApiServer::createCollection(CreateCollectionContext context) {
  return handle([&] {
    auto config = value_or_throw(collection_config_from_rpc(context.getParams().getConfig()));
    value_or_throw(node_.create_collection(config));
    fill_collection_info(value_or_throw(router_.collection_info(config.name)),
                         context.getResults().initInfo());
  });
}

kj::Promise<void> ApiServer::listCollections(ListCollectionsContext context) {
  return handle([&] {
    auto infos = value_or_throw(router_.list_collections());
    auto out = context.getResults().initCollections(static_cast<unsigned>(infos.size()));
    for (size_t i = 0; i < infos.size(); ++i) {
      fill_collection_info(infos[i], out[i]);
      fill_catalog_conflicts(node_.catalog_conflicts(infos[i].stored.config.name), out[i]);
    }
  });
}

kj::Promise<void> ApiServer::collectionInfo(CollectionInfoContext context) {
  return handle([&] {
    auto info = value_or_throw(router_.collection_info(text_of(context.getParams().getName())));
    fill_collection_info(info, context.getResults().initInfo());
    fill_catalog_conflicts(node_.catalog_conflicts(info.stored.config.name),
                           context.getResults().getInfo());
  });
}

kj::Promise<void> ApiServer::dropCollection(DropCollectionContext context) {
  return handle(
      [&] { ok_or_throw(node_.drop_collection(text_of(context.getParams().getName()))); });
}

kj::Promise<void> ApiServer::upsert(UpsertContext context) {
  RoutedWrite outcome;
  std::optional<ShardPlan> forwarding;
  std::vector<storage::PointRecord> forwarded_records;
  auto committed = handle([&] {
    auto params = context.getParams();
    auto points = params.getPoints();
    ok_or_throw(validate_batch_size(points.size(), "points"));
    std::vector<storage::PointRecord> records;
    records.reserve(points.size());
    for (auto p : points) {
      storage::PointRecord record;
      record.id = value_or_throw(point_id_from_rpc(p.getId()));
      record.vector = floats_of(p.getVector());
      record.payload_json = text_of(p.getPayload());
      records.push_back(std::move(record));
    }
    const std::string collection = text_of(params.getCollection());
    if (params.getForwardShard() >= 0) {
      check_forwarded(collection, params.getForwardShard());
    } else if ((forwarding = plan(collection, true))) {
      forwarded_records = std::move(records);
      return;
    }
    outcome = value_or_throw(router_.upsert(collection, std::move(records)));
    fill_write_result(outcome, context.getResults().initResult());
  });
  if (forwarding) {
    return committed.then([this, context, plan = std::move(*forwarding),
                           records = std::move(forwarded_records)]() mutable {
      return upsert_forwarding(context, std::move(plan), std::move(records));
    });
  }
  return committed.then([this, context, outcome = kj::mv(outcome)]() mutable {
    return answer_write(context, outcome);
  });
}

kj::Promise<void> ApiServer::delete_(DeleteContext context) {
  RoutedWrite outcome;
  std::optional<ShardPlan> forwarding;
  std::vector<PointId> forwarded_ids;
  auto committed = handle([&] {
    auto params = context.getParams();
    ok_or_throw(validate_batch_size(params.getIds().size(), "ids"));
    auto ids = read_ids(params.getIds());
    const std::string collection = text_of(params.getCollection());
    if (params.getForwardShard() >= 0) {
      check_forwarded(collection, params.getForwardShard());
    } else if ((forwarding = plan(collection, true))) {
      forwarded_ids = std::move(ids);
      return;
    }
    outcome = value_or_throw(router_.remove(collection, ids));
    fill_write_result(outcome, context.getResults().initResult());
  });
  if (forwarding) {
    return committed.then(
        [this, context, plan = std::move(*forwarding), ids = std::move(forwarded_ids)]() mutable {
          return delete_forwarding(context, std::move(plan), std::move(ids));
        });
  }
  return committed.then([this, context, outcome = kj::mv(outcome)]() mutable {
    return answer_write(context, outcome);
  });
}

template <typename Context>
kj::Promise<void> ApiServer::answer_write(Context context, const RoutedWrite& outcome) {
  auto params = context.getParams();
  WriteConcern concern = WriteConcern::kLocal;
  switch (params.getWriteConcern()) {
    case rpc::WriteConcern::LOCAL:
      return kj::READY_NOW;
    case rpc::WriteConcern::REGION:
      concern = WriteConcern::kRegion;
      break;
    case rpc::WriteConcern::ALL_REGIONS:
      concern = WriteConcern::kAllRegions;
      break;
    default:
      return status_to_exception(absl::InvalidArgumentError("unknown write concern"));
  }
  uint32_t timeout_ms = params.getTimeoutMs() == 0 ? kDefaultWriteTimeoutMs : params.getTimeoutMs();
  if (timeout_ms > kMaxWriteTimeoutMs) {
    return status_to_exception(absl::InvalidArgumentError(
        absl::StrCat("timeoutMs ", timeout_ms, " is above the maximum of ", kMaxWriteTimeoutMs)));
  }
  if (info_.timer == nullptr || info_.cluster == nullptr) {
    // A node alone is every replica of its region and the only region.
    context.getResults().getResult().initReplication().setConfirmed(true);
    return kj::READY_NOW;
  }
  const kj::TimePoint start = info_.timer->now();
  return confirm_write(outcome.commits, concern, start + timeout_ms * kj::MILLISECONDS)
      .then([this, context, start](WriteConfirmation confirmation) mutable {
        auto out = context.getResults().getResult().initReplication();
        out.setConfirmed(confirmation.confirmed);
        auto missing = out.initMissingRegions(confirmation.missing_regions.size());
        for (size_t i = 0; i < confirmation.missing_regions.size(); ++i) {
          missing.set(i, confirmation.missing_regions[i]);
        }
        out.setWaitedMs(static_cast<uint32_t>((info_.timer->now() - start) / kj::MILLISECONDS));
      });
}

kj::Promise<WriteConfirmation> ApiServer::confirm_write(std::vector<ShardCommit> commits,
                                                        WriteConcern concern,
                                                        kj::TimePoint deadline) {
  WriteConfirmation now{true, {}};
  std::set<std::string> missing;
  for (const auto& commit : commits) {
    WriteConfirmation shard = info_.cluster->confirmation(commit.replica, commit.log_seq, concern);
    now.confirmed = now.confirmed && shard.confirmed;
    missing.insert(shard.missing_regions.begin(), shard.missing_regions.end());
  }
  now.missing_regions.assign(missing.begin(), missing.end());
  if (now.confirmed || info_.timer->now() >= deadline) return now;
  return info_.timer->afterDelay(kWritePollInterval)
      .then([this, commits = kj::mv(commits), concern, deadline]() mutable {
        return confirm_write(kj::mv(commits), concern, deadline);
      });
}

kj::Promise<void> ApiServer::await_token(std::string collection, std::string token) {
  if (token.empty()) return kj::READY_NOW;
  if (info_.timer == nullptr) {
    return poll_token(kj::mv(collection), kj::mv(token), kj::origin<kj::TimePoint>());
  }
  const int64_t wait_ms = absl::ToInt64Milliseconds(node_.options().consistency_wait);
  return poll_token(kj::mv(collection), kj::mv(token),
                    info_.timer->now() + wait_ms * kj::MILLISECONDS);
}

kj::Promise<void> ApiServer::poll_token(std::string collection, std::string token,
                                        kj::TimePoint deadline) {
  auto reached = router_.token_satisfied(collection, token);
  if (!reached.ok()) return status_to_exception(reached.status());
  if (*reached) return kj::READY_NOW;
  if (info_.timer == nullptr || info_.timer->now() >= deadline) {
    return status_to_exception(consistency_deadline_exceeded(node_.options().consistency_wait));
  }
  return info_.timer->afterDelay(kTokenPollInterval)
      .then([this, collection = kj::mv(collection), token = kj::mv(token), deadline]() mutable {
        return poll_token(kj::mv(collection), kj::mv(token), deadline);
      });
}

kj::Promise<void> ApiServer::get(GetContext context) {
  return rerun_if_handed_off(
      info_.cluster, [context]() mutable { return context.getParams().getForwardShard() >= 0; },
      [this, context]() mutable { return get_planned(context); });
}

kj::Promise<void> ApiServer::get_planned(GetContext context) {
  std::optional<ShardPlan> forwarding;
  auto wait = kj::evalNow([&] {
    auto params = context.getParams();
    const std::string collection = text_of(params.getCollection());
    if (params.getForwardShard() >= 0) {
      check_forwarded(collection, params.getForwardShard());
    } else if ((forwarding = plan(collection))) {
      return kj::Promise<void>(kj::READY_NOW);
    }
    return await_token(collection, bytes_of(params.getConsistencyToken()));
  });
  if (forwarding) {
    return wait.then([this, context, plan = std::move(*forwarding)]() mutable {
      return get_forwarding(context, std::move(plan));
    });
  }
  return wait.then([this, context]() mutable { return get_now(context); });
}

kj::Promise<void> ApiServer::get_now(GetContext context) {
  return handle([&] {
    auto params = context.getParams();
    ok_or_throw(validate_batch_size(params.getIds().size(), "ids"));
    auto ids = read_ids(params.getIds());
    auto records = value_or_throw(router_.get(text_of(params.getCollection()), ids));
    unsigned found = 0;
    for (const auto& r : records) found += r.has_value();
    auto out = context.getResults().initPoints(found);
    unsigned i = 0;
    for (const auto& r : records) {
      if (r) fill_point(*r, params.getWithVector(), params.getWithPayload(), out[i++]);
    }
  });
}

kj::Promise<void> ApiServer::count(CountContext context) {
  return rerun_if_handed_off(
      info_.cluster, [context]() mutable { return context.getParams().getForwardShard() >= 0; },
      [this, context]() mutable { return count_planned(context); });
}

kj::Promise<void> ApiServer::count_planned(CountContext context) {
  std::optional<ShardPlan> forwarding;
  auto wait = kj::evalNow([&] {
    auto params = context.getParams();
    const std::string collection = text_of(params.getCollection());
    if (params.getForwardShard() >= 0) {
      check_forwarded(collection, params.getForwardShard());
    } else if ((forwarding = plan(collection))) {
      return kj::Promise<void>(kj::READY_NOW);
    }
    return await_token(collection, bytes_of(params.getConsistencyToken()));
  });
  if (forwarding) {
    return wait.then([this, context, plan = std::move(*forwarding)]() mutable {
      return count_forwarding(context, std::move(plan));
    });
  }
  return wait.then([this, context]() mutable { return count_now(context); });
}

kj::Promise<void> ApiServer::count_now(CountContext context) {
  return handle([&] {
    auto params = context.getParams();
    std::optional<std::vector<uint32_t>> shards;
    if (params.getForwardShard() >= 0) {
      shards = std::vector<uint32_t>{static_cast<uint32_t>(params.getForwardShard())};
    }
    context.getResults().setCount(
        value_or_throw(router_.count(text_of(params.getCollection()), shards)));
  });
}

kj::Promise<void> ApiServer::scroll(ScrollContext context) {
  return rerun_if_handed_off(
      info_.cluster, [context]() mutable { return context.getParams().getForwardShard() >= 0; },
      [this, context]() mutable { return scroll_planned(context); });
}

kj::Promise<void> ApiServer::scroll_planned(ScrollContext context) {
  std::optional<ShardPlan> forwarding;
  auto wait = kj::evalNow([&] {
    auto params = context.getParams();
    const std::string collection = text_of(params.getCollection());
    if (params.getForwardShard() >= 0) {
      check_forwarded(collection, params.getForwardShard());
    } else if ((forwarding = plan(collection))) {
      return kj::Promise<void>(kj::READY_NOW);
    }
    return await_token(collection, bytes_of(params.getConsistencyToken()));
  });
  if (forwarding) {
    return wait.then([this, context, plan = std::move(*forwarding)]() mutable {
      return scroll_forwarding(context, std::move(plan));
    });
  }
  return wait.then([this, context]() mutable { return scroll_now(context); });
}

kj::Promise<void> ApiServer::scroll_now(ScrollContext context) {
  return handle([&] {
    auto params = context.getParams();
    auto cursor = params.getCursor();
    auto page = value_or_throw(router_.scroll(
        text_of(params.getCollection()),
        std::string_view(reinterpret_cast<const char*>(cursor.begin()), cursor.size()),
        params.getLimit(),
        params.getForwardShard() >= 0
            ? std::optional<uint32_t>(static_cast<uint32_t>(params.getForwardShard()))
            : std::nullopt));
    auto results = context.getResults();
    auto out = results.initPoints(static_cast<unsigned>(page.points.size()));
    for (size_t i = 0; i < page.points.size(); ++i) {
      fill_point(page.points[i], params.getWithVector(), params.getWithPayload(), out[i]);
    }
    results.setNextCursor(capnp::Data::Reader(
        reinterpret_cast<const capnp::byte*>(page.next_cursor.data()), page.next_cursor.size()));
  });
}

kj::Promise<void> ApiServer::search(SearchContext context) {
  return rerun_if_handed_off(
      info_.cluster,
      [context]() mutable { return context.getParams().getRequest().getForwardShard() >= 0; },
      [this, context]() mutable { return search_planned(context); });
}

kj::Promise<void> ApiServer::search_planned(SearchContext context) {
  std::optional<ShardPlan> forwarding;
  auto wait = kj::evalNow([&] {
    auto request = context.getParams().getRequest();
    const std::string collection = text_of(request.getCollection());
    if (request.getForwardShard() >= 0) {
      check_forwarded(collection, request.getForwardShard());
    } else if ((forwarding = plan(collection))) {
      return kj::Promise<void>(kj::READY_NOW);
    }
    return await_token(collection, bytes_of(request.getConsistencyToken()));
  });
  if (forwarding) {
    return wait.then([this, context, plan = std::move(*forwarding)]() mutable {
      return search_forwarding(context, std::move(plan));
    });
  }
  return wait.then([this, context]() mutable { return search_now(context); });
}

kj::Promise<void> ApiServer::search_now(SearchContext context) {
  return handle([&] {
    auto request = context.getParams().getRequest();
    std::vector<float> queries = floats_of(request.getQueries());
    node::SearchParams params;
    params.k = request.getK();
    params.with_payload = request.getWithPayload();
    params.with_vector = request.getWithVector();
    params.ef = request.getEf();
    params.nprobe = request.getNprobe();
    params.filter_json = text_of(request.getFilter());
    std::optional<std::vector<uint32_t>> shards;
    if (request.getForwardShard() >= 0) {
      shards = std::vector<uint32_t>{static_cast<uint32_t>(request.getForwardShard())};
    }
    auto results =
        value_or_throw(router_.search(text_of(request.getCollection()), queries, params, shards));
    fill_search_results(results, params, context.getResults());
  });
}

kj::Promise<void> ApiServer::setPayload(SetPayloadContext context) {
  std::optional<ShardPlan> forwarding;
  auto done = handle([&] {
    auto params = context.getParams();
    ok_or_throw(validate_batch_size(params.getIds().size(), "ids"));
    auto ids = read_ids(params.getIds());
    if (params.getForwardShard() >= 0) {
      check_forwarded(text_of(params.getCollection()), params.getForwardShard());
    } else if ((forwarding = plan(text_of(params.getCollection()), true))) {
      return;
    }
    auto outcome = value_or_throw(
        router_.set_payload(text_of(params.getCollection()), ids, text_of(params.getPayload())));
    fill_write_result(outcome, context.getResults().initResult());
  });
  if (forwarding) {
    return done.then([this, context, plan = std::move(*forwarding)]() mutable {
      return set_payload_forwarding(context, std::move(plan));
    });
  }
  return done;
}

kj::Promise<void> ApiServer::overwritePayload(OverwritePayloadContext context) {
  std::optional<ShardPlan> forwarding;
  auto done = handle([&] {
    auto params = context.getParams();
    ok_or_throw(validate_batch_size(params.getIds().size(), "ids"));
    auto ids = read_ids(params.getIds());
    if (params.getForwardShard() >= 0) {
      check_forwarded(text_of(params.getCollection()), params.getForwardShard());
    } else if ((forwarding = plan(text_of(params.getCollection()), true))) {
      return;
    }
    auto outcome = value_or_throw(router_.overwrite_payload(text_of(params.getCollection()), ids,
                                                            text_of(params.getPayload())));
    fill_write_result(outcome, context.getResults().initResult());
  });
  if (forwarding) {
    return done.then([this, context, plan = std::move(*forwarding)]() mutable {
      return overwrite_payload_forwarding(context, std::move(plan));
    });
  }
  return done;
}

kj::Promise<void> ApiServer::deletePayloadKeys(DeletePayloadKeysContext context) {
  std::optional<ShardPlan> forwarding;
  auto done = handle([&] {
    auto params = context.getParams();
    ok_or_throw(validate_batch_size(params.getIds().size(), "ids"));
    auto ids = read_ids(params.getIds());
    if (params.getForwardShard() >= 0) {
      check_forwarded(text_of(params.getCollection()), params.getForwardShard());
    } else if ((forwarding = plan(text_of(params.getCollection()), true))) {
      return;
    }
    if (params.getKeys().size() > kMaxBatchPoints) {
      throw_status(absl::InvalidArgumentError("too many payload keys"));
    }
    std::vector<std::string> keys;
    for (auto k : params.getKeys()) keys.push_back(text_of(k));
    auto outcome =
        value_or_throw(router_.delete_payload_keys(text_of(params.getCollection()), ids, keys));
    fill_write_result(outcome, context.getResults().initResult());
  });
  if (forwarding) {
    return done.then([this, context, plan = std::move(*forwarding)]() mutable {
      return delete_payload_keys_forwarding(context, std::move(plan));
    });
  }
  return done;
}

kj::Promise<void> ApiServer::shardMap(ShardMapContext context) {
  return handle([&] {
    const std::string collection = text_of(context.getParams().getCollection());
    ok_or_throw(validate_collection_name(collection));
    const CollectionConfig config = value_or_throw(node_.collection_config(collection));
    auto out = context.getResults().initMap();
    out.setCollection(collection);
    out.setShardCount(config.shard_count);
    out.setHashVersion(kShardHashVersion);
    out.setReplicationFactor(config.replication_factor);
    auto shards = out.initShards(config.shard_count);
    for (uint32_t s = 0; s < config.shard_count; ++s) {
      std::vector<ShardHolder> holders;
      if (info_.cluster != nullptr) {
        holders = info_.cluster->shard_holders(collection, s);
      } else if (node_.replica_id(shard_replica_name(collection, s)).ok()) {
        holders.push_back({node_.node_id(), node_.options().region, ""});
      }
      shards[s].setShard(s);
      auto list = shards[s].initHolders(static_cast<unsigned>(holders.size()));
      for (size_t i = 0; i < holders.size(); ++i) {
        list[i].setNodeId(holders[i].node_id);
        list[i].setRegion(holders[i].region);
        list[i].setClientAddress(holders[i].client_address);
      }
    }
  });
}

kj::Promise<void> ApiServer::admin(AdminContext context) {
  return handle([&] {
    if (info_.keys == nullptr) throw_status(absl::UnimplementedError("no admin on this node"));
    context.getResults().setAdmin(kj::heap<AdminServer>(*info_.keys));
  });
}

namespace {

void fill_key_status(const KeyStatus& status, rpc::KeyStatus::Builder out) {
  out.setEncrypted(status.encrypted);
  auto keys = out.initKeys(static_cast<unsigned>(status.keys.size()));
  for (size_t i = 0; i < status.keys.size(); ++i) {
    keys[i].setKeyId(status.keys[i].key_id);
    keys[i].setActive(status.keys[i].active);
    keys[i].setValues(status.keys[i].values);
  }
  out.setResealing(status.resealing);
  out.setResealedValues(status.resealed_values);
  out.setUnreadableValues(status.unreadable_values);
}

}  // namespace

kj::Promise<void> AdminServer::keyStatus(KeyStatusContext context) {
  return handle(
      [&] { fill_key_status(value_or_throw(keys_.status()), context.getResults().initStatus()); });
}

kj::Promise<void> AdminServer::rotateKey(RotateKeyContext context) {
  return handle([&] {
    auto status = value_or_throw(keys_.rotate(text_of(context.getParams().getKeyFile())));
    fill_key_status(status, context.getResults().initStatus());
  });
}

kj::Promise<void> AdminServer::retireKey(RetireKeyContext context) {
  return handle([&] {
    auto status = value_or_throw(keys_.retire(context.getParams().getKeyId()));
    fill_key_status(status, context.getResults().initStatus());
  });
}

}  // namespace meridian::node
