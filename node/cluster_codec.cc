// Cap'n Proto encodings of gossip and the stored catalog (schema/cluster.capnp).
#include "node/cluster_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "schema/cluster.capnp.h"
#include "schema/convert.h"

namespace meridian::node {
namespace {

namespace wire = rpc::cluster;

// Gossip and catalogs are small (a few KiB per collection and member); 64 MiB bounds a
// malicious message well above any real one.
constexpr uint64_t kTraversalLimitWords = uint64_t{8} << 20;
constexpr unsigned kNestingLimit = 16;

std::string text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

void put_entry(const CatalogEntry& e, wire::CatalogEntry::Builder out) {
  out.setName(e.name);
  out.setIncarnation(e.incarnation);
  out.setGeneration(e.generation);
  out.setCreatedMs(e.created_ms);
  out.setRegion(e.region);
  collection_config_to_rpc(e.config, out.initConfig());
  out.setDropped(e.dropped);
}

absl::StatusOr<CatalogEntry> get_entry(wire::CatalogEntry::Reader in) {
  CatalogEntry e;
  e.name = text(in.getName());
  e.incarnation = in.getIncarnation();
  e.generation = in.getGeneration();
  e.created_ms = in.getCreatedMs();
  e.region = text(in.getRegion());
  auto config = collection_config_from_rpc(in.getConfig());
  if (!config.ok()) return config.status();
  e.config = *std::move(config);
  if (e.config.name != e.name) {
    return absl::InvalidArgumentError(
        absl::StrCat("catalog entry '", e.name, "' holds the settings of '", e.config.name, "'"));
  }
  if (auto s = validate_collection_config(e.config); !s.ok()) return s;
  if (e.incarnation == 0) return absl::InvalidArgumentError("catalog entry with incarnation 0");
  e.dropped = in.getDropped();
  return e;
}

void put_catalog(const std::vector<CatalogEntry>& entries, wire::Catalog::Builder out) {
  auto list = out.initEntries(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) put_entry(entries[i], list[i]);
}

absl::StatusOr<std::vector<CatalogEntry>> get_catalog(wire::Catalog::Reader in) {
  std::vector<CatalogEntry> out;
  for (auto e : in.getEntries()) {
    auto entry = get_entry(e);
    if (!entry.ok()) return entry.status();
    out.push_back(*std::move(entry));
  }
  return out;
}

void put_member(const MemberInfo& m, wire::MemberInfo::Builder out) {
  out.setNodeId(m.node_id);
  out.setRegion(m.region);
  out.setClientAddress(m.client_address);
  out.setPeerAddress(m.peer_address);
  out.setHeartbeat(m.heartbeat);
  auto replicas = out.initReplicas(m.replicas.size());
  for (size_t i = 0; i < m.replicas.size(); ++i) {
    replicas[i].setCollection(m.replicas[i].collection);
    replicas[i].setIncarnation(m.replicas[i].incarnation);
    replicas[i].setReplicaId(m.replicas[i].replica_id);
    replicas[i].setShard(m.replicas[i].shard);
  }
}

MemberInfo get_member(wire::MemberInfo::Reader in) {
  MemberInfo m;
  m.node_id = text(in.getNodeId());
  m.region = text(in.getRegion());
  m.client_address = text(in.getClientAddress());
  m.peer_address = text(in.getPeerAddress());
  m.heartbeat = in.getHeartbeat();
  for (auto r : in.getReplicas()) {
    m.replicas.push_back(
        {text(r.getCollection()), r.getIncarnation(), r.getReplicaId(), r.getShard()});
  }
  return m;
}

std::string to_bytes(capnp::MessageBuilder& builder) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  return std::string(reinterpret_cast<const char*>(words.begin()),
                     words.size() * sizeof(capnp::word));
}

// Runs `read` on the root of `bytes`; a malformed message is DataLoss naming `what`.
template <typename Root, typename T, typename Read>
absl::StatusOr<T> from_bytes(std::string_view bytes, const char* what, Read read) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return absl::DataLossError(absl::StrCat(what, ": not a whole number of words"));
  }
  // The reader needs word alignment; the input is a byte string.
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kTraversalLimitWords;
  options.nestingLimit = kNestingLimit;
  absl::StatusOr<T> result = absl::DataLossError(absl::StrCat(what, ": unreadable"));
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 capnp::FlatArrayMessageReader reader(words.asPtr(), options);
                 result = read(reader.getRoot<Root>());
               })) {
    return absl::DataLossError(absl::StrCat(what, ": ", exception->getDescription().cStr()));
  }
  return result;
}

}  // namespace

std::string encode_gossip(const GossipMessage& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::GossipMessage>();
  put_member(message.from, root.initFrom());
  auto members = root.initMembers(message.members.size());
  for (size_t i = 0; i < message.members.size(); ++i) put_member(message.members[i], members[i]);
  put_catalog(message.catalog, root.initCatalog());
  return to_bytes(builder);
}

absl::StatusOr<GossipMessage> decode_gossip(std::string_view bytes) {
  return from_bytes<wire::GossipMessage, GossipMessage>(
      bytes, "gossip message", [](wire::GossipMessage::Reader in) -> absl::StatusOr<GossipMessage> {
        GossipMessage m;
        m.from = get_member(in.getFrom());
        if (m.from.node_id.empty()) return absl::InvalidArgumentError("gossip without a sender");
        for (auto member : in.getMembers()) m.members.push_back(get_member(member));
        auto catalog = get_catalog(in.getCatalog());
        if (!catalog.ok()) return catalog.status();
        m.catalog = *std::move(catalog);
        return m;
      });
}

std::string encode_stored_catalog(const StoredCatalog& catalog) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::StoredCatalog>();
  put_catalog(catalog.entries, root.initCatalog());
  auto bindings = root.initBindings(catalog.bindings.size());
  size_t i = 0;
  for (const auto& [name, incarnation] : catalog.bindings) {
    bindings[i].setCollection(name);
    bindings[i].setIncarnation(incarnation);
    ++i;
  }
  return to_bytes(builder);
}

absl::StatusOr<StoredCatalog> decode_stored_catalog(std::string_view bytes) {
  return from_bytes<wire::StoredCatalog, StoredCatalog>(
      bytes, "stored catalog", [](wire::StoredCatalog::Reader in) -> absl::StatusOr<StoredCatalog> {
        StoredCatalog c;
        auto entries = get_catalog(in.getCatalog());
        if (!entries.ok()) return entries.status();
        c.entries = *std::move(entries);
        for (auto b : in.getBindings()) c.bindings[text(b.getCollection())] = b.getIncarnation();
        return c;
      });
}

}  // namespace meridian::node
