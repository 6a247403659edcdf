// PeerMessage <-> Cap'n Proto. Reading generated accessors can throw kj::Exception on malformed
// input (bad pointers, limits exceeded); all reading happens inside one runCatchingExceptions so
// that the rest of replication/ only ever sees absl::Status.
#include "replication/wire_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crdt/point_set_codec.h"
#include "schema/replication.capnp.h"

namespace meridian::replication {
namespace {

namespace wire = ::meridian::rpc::repl;

constexpr std::string_view kMagic = "MRPL";
constexpr size_t kHeaderBytes = 8;

kj::ArrayPtr<const kj::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string string_of(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

void set_shard(wire::ShardRef::Builder b, const ShardRef& shard) {
  b.setCollection(shard.collection);
  b.setShard(shard.shard);
}
ShardRef get_shard(wire::ShardRef::Reader r) {
  return ShardRef{std::string(r.getCollection().cStr(), r.getCollection().size()), r.getShard()};
}

struct Builder {
  const PeerMessage& m;
  wire::PeerMessage::Builder out;

  void operator()(const Hello& h) {
    auto b = out.initHello();
    auto from = b.initFrom();
    from.setReplicaId(m.from);
    from.setRegion(h.region);
    set_shard(from.initShard(), m.shard);
    from.setProtocolVersion(wire::PROTOCOL_VERSION);
    b.setJoinedThrough(h.joined_through);
    b.setWantReply(h.want_reply);
    b.setToReplicaId(h.to);
    b.setVersionVector(bytes_of(crdt::encode_version_vector(h.vv)));
    if (h.resume) {
      b.setHasResume(true);
      auto r = b.initResume();
      r.setTransferId(h.resume->transfer_id);
      r.setNextCursor(bytes_of(h.resume->next_cursor));
    }
  }
  void operator()(const DeltaInterval& i) {
    auto b = out.initInterval();
    set_shard(b.initShard(), m.shard);
    b.setOrigin(m.from);
    b.setAfterSeq(i.after_seq);
    b.setThroughSeq(i.through_seq);
    b.setDelta(bytes_of(i.delta));
  }
  void operator()(const DeltaAck& a) {
    auto b = out.initAck();
    set_shard(b.initShard(), m.shard);
    b.setOrigin(m.from);
    b.setThroughSeq(a.through_seq);
  }
  void operator()(const Exchange& e) {
    auto b = out.initExchange();
    set_shard(b.initShard(), m.shard);
    b.setOrigin(m.from);
    b.setJoinedThrough(e.joined_through);
    b.setVersionVector(bytes_of(crdt::encode_version_vector(e.vv)));
    b.setReplyWanted(e.reply_wanted);
  }
  void operator()(const FullStateChunk& c) {
    auto b = out.initChunk();
    set_shard(b.initShard(), m.shard);
    b.setOrigin(m.from);
    b.setTransferId(c.transfer_id);
    b.setThroughSeq(c.through_seq);
    b.setCursor(bytes_of(c.cursor));
    b.setNextCursor(bytes_of(c.next_cursor));
    b.setLast(c.last);
    b.setSnapshotContext(bytes_of(c.snapshot_context));
    b.setRecords(bytes_of(c.records));
  }
  void operator()(const FullStateAck& a) {
    auto b = out.initChunkAck();
    set_shard(b.initShard(), m.shard);
    b.setOrigin(m.from);
    b.setTransferId(a.transfer_id);
    b.setNextCursor(bytes_of(a.next_cursor));
    b.setComplete(a.complete);
    b.setUnknown(a.unknown);
  }
  void operator()(const DeltaReject& r) {
    auto b = out.initReject();
    set_shard(b.initShard(), m.shard);
    b.setOrigin(m.from);
    b.setAfterSeq(r.after_seq);
    b.setThroughSeq(r.through_seq);
    b.setPermanent(r.permanent);
    b.setReason(r.reason.substr(0, kMaxRejectReason));
  }
};

absl::StatusOr<crdt::VersionVector> get_vv(capnp::Data::Reader data) {
  auto vv = crdt::decode_version_vector(string_of(data));
  if (!vv.ok()) return absl::DataLossError(absl::StrCat("peer message: ", vv.status().message()));
  return vv;
}

// Reads the message; may throw kj::Exception on malformed input.
absl::StatusOr<PeerMessage> read(wire::PeerMessage::Reader in) {
  PeerMessage m;
  switch (in.which()) {
    case wire::PeerMessage::HELLO: {
      auto r = in.getHello();
      auto from = r.getFrom();
      m.from = from.getReplicaId();
      m.shard = get_shard(from.getShard());
      Hello h;
      h.region = std::string(from.getRegion().cStr(), from.getRegion().size());
      h.joined_through = r.getJoinedThrough();
      h.want_reply = r.getWantReply();
      h.to = r.getToReplicaId();
      auto vv = get_vv(r.getVersionVector());
      if (!vv.ok()) return vv.status();
      h.vv = *std::move(vv);
      if (r.getHasResume()) {
        h.resume =
            TransferResume{r.getResume().getTransferId(), string_of(r.getResume().getNextCursor())};
      }
      m.body = std::move(h);
      return m;
    }
    case wire::PeerMessage::INTERVAL: {
      auto r = in.getInterval();
      m.shard = get_shard(r.getShard());
      m.from = r.getOrigin();
      m.body = DeltaInterval{r.getAfterSeq(), r.getThroughSeq(), string_of(r.getDelta())};
      return m;
    }
    case wire::PeerMessage::ACK: {
      auto r = in.getAck();
      m.shard = get_shard(r.getShard());
      m.from = r.getOrigin();
      m.body = DeltaAck{r.getThroughSeq()};
      return m;
    }
    case wire::PeerMessage::EXCHANGE: {
      auto r = in.getExchange();
      m.shard = get_shard(r.getShard());
      m.from = r.getOrigin();
      auto vv = get_vv(r.getVersionVector());
      if (!vv.ok()) return vv.status();
      m.body = Exchange{r.getJoinedThrough(), *std::move(vv), r.getReplyWanted()};
      return m;
    }
    case wire::PeerMessage::CHUNK: {
      auto r = in.getChunk();
      m.shard = get_shard(r.getShard());
      m.from = r.getOrigin();
      m.body = FullStateChunk{r.getTransferId(),
                              r.getThroughSeq(),
                              string_of(r.getCursor()),
                              string_of(r.getNextCursor()),
                              r.getLast(),
                              string_of(r.getSnapshotContext()),
                              string_of(r.getRecords())};
      return m;
    }
    case wire::PeerMessage::CHUNK_ACK: {
      auto r = in.getChunkAck();
      m.shard = get_shard(r.getShard());
      m.from = r.getOrigin();
      m.body = FullStateAck{r.getTransferId(), string_of(r.getNextCursor()), r.getComplete(),
                            r.getUnknown()};
      return m;
    }
    case wire::PeerMessage::REJECT: {
      auto r = in.getReject();
      m.shard = get_shard(r.getShard());
      m.from = r.getOrigin();
      auto reason = r.getReason();
      if (reason.size() > kMaxRejectReason) {
        return absl::DataLossError("peer message: reject reason too long");
      }
      m.body = DeltaReject{r.getAfterSeq(), r.getThroughSeq(), r.getPermanent(),
                           std::string(reason.cStr(), reason.size())};
      return m;
    }
  }
  // A union member this build does not know (a newer peer): not an error we can act on here.
  return absl::DataLossError("peer message: unknown message kind");
}

}  // namespace

ReaderLimits reader_limits(const WireLimits& limits) {
  return ReaderLimits{limits.traversal_limit_words, limits.nesting_limit};
}

std::string encode_peer_message(const PeerMessage& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::PeerMessage>();
  std::visit(Builder{message, root}, message.body);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  std::string out(kMagic);
  out.push_back(static_cast<char>(kWireVersion));
  out.append(3, '\0');
  out.append(reinterpret_cast<const char*>(words.begin()), words.size() * sizeof(capnp::word));
  return out;
}

absl::StatusOr<PeerMessage> decode_peer_message(std::string_view bytes, const WireLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return absl::DataLossError("peer message: frame larger than the limit");
  }
  if (bytes.size() < kHeaderBytes + sizeof(capnp::word) || bytes.substr(0, 4) != kMagic) {
    return absl::DataLossError("peer message: bad magic or truncated");
  }
  if (static_cast<uint8_t>(bytes[4]) != kWireVersion) {
    return absl::UnimplementedError(
        absl::StrCat("peer message: framing version ", static_cast<int>(bytes[4])));
  }
  if (bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0) {
    return absl::DataLossError("peer message: bad header");
  }
  const std::string_view body = bytes.substr(kHeaderBytes);
  if (body.size() % sizeof(capnp::word) != 0) {
    return absl::DataLossError("peer message: not a whole number of words");
  }
  // Copy into word-aligned memory: the reader requires alignment and the input is a byte string.
  auto words = kj::heapArray<capnp::word>(body.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), body.data(), body.size());

  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits.traversal_limit_words;
  options.nestingLimit = limits.nesting_limit;
  absl::StatusOr<PeerMessage> result = absl::DataLossError("peer message: unreadable");
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 capnp::FlatArrayMessageReader reader(words.asPtr(), options);
                 if (reader.getEnd() != words.end()) {
                   result = absl::DataLossError("peer message: trailing bytes");
                   return;
                 }
                 result = read(reader.getRoot<wire::PeerMessage>());
               })) {
    return absl::DataLossError(absl::StrCat("peer message: ", exception->getDescription().cStr()));
  }
  return result;
}

}  // namespace meridian::replication
