// meridiand: the Meridian node daemon. Builds every component in main() and passes each its
// dependencies; serves the client API until SIGTERM or SIGINT, then exits 0.
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "node/api_server.h"
#include "node/cluster_service.h"
#include "node/daemon_config.h"
#include "node/gpu_mode.h"
#include "node/key_manager.h"
#include "node/log.h"
#include "node/node.h"
#include "node/peer_tls_setup.h"
#include "node/rpc_listener.h"
#include "node/sealer_setup.h"
#include "storage/store.h"

namespace meridian::node {
namespace {

constexpr char kVersion[] = "0.1.0";

std::string new_node_id() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

int fail(const absl::Status& status) {
  log_error(absl::StrCat("cannot start: ", status.ToString()));
  return 1;
}

int run(const DaemonConfig& config) {
  // A core dump would write decrypted records and key material to disk in the clear.
  struct rlimit no_core {};
  ::setrlimit(RLIMIT_CORE, &no_core);
  // Capture (block) the stop signals before any thread starts: threads inherit the mask, so the
  // signals reach only the event loop. A worker started earlier would be killed by SIGTERM.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  if (sodium_init() < 0) return fail(absl::InternalError("libsodium failed to initialise"));
  // Before anything touches the data directory: --gpu on without a GPU refuses to start.
  auto gpu = resolve_gpu_mode(config.gpu, log_info);
  if (!gpu.ok()) return fail(gpu.status());
  auto sealing = make_record_sealer(config);
  if (!sealing.ok()) return fail(sealing.status());

  storage::StoreOptions store_options;
  store_options.node_id_if_new = new_node_id();
  auto store = storage::Store::open(config.data_dir, *sealing->sealer, store_options);
  if (!store.ok()) return fail(store.status());
  auto keys = std::make_unique<KeyManager>(**store, sealing->aead, std::move(sealing->keys));
  if (auto s = keys->resume_if_needed(); !s.ok()) return fail(s);
  auto started = std::chrono::steady_clock::now();
  // The cluster service exists only once the event loop does; the node's hooks reach it through
  // this pointer (null while the node runs alone or before the service starts).
  ClusterService* cluster_hooks = nullptr;
  NodeOptions node_options;
  node_options.gpu = *gpu;
  node_options.region = config.region;
  // A clustered node keeps its delta logs until its peers acknowledge them.
  node_options.retain_delta_log = !config.peer_listen.empty();
  // A node joining through seeds learns its region's members before it takes shards.
  node_options.await_placement = !config.peer_listen.empty() && !config.seeds.empty();
  // Sealed index segments beside the LMDB environment, sealed under the records' key ring (so a
  // key rotation applies to new segment files too).
  node_options.segment_dir = std::filesystem::path(config.data_dir) / "segments";
  if (sealing->aead != nullptr) {
    node_options.segment_keys = [aead = sealing->aead] { return aead->ring(); };
  }
  node_options.on_local_commit = [&cluster_hooks](const std::string& collection, uint64_t seq) {
    if (cluster_hooks != nullptr) cluster_hooks->on_local_commit(collection, seq);
  };
  node_options.before_collection_drop = [&cluster_hooks](const std::string& collection) {
    if (cluster_hooks != nullptr) cluster_hooks->before_collection_drop(collection);
  };
  auto node = Node::open(**store, std::move(node_options));
  if (!node.ok()) return fail(node.status());
  NodeStats stats = (*node)->stats();
  log_info(absl::StrCat("node ", (*node)->node_id(), " opened ", config.data_dir, ": ",
                        stats.collections, " collections, ", stats.points, " points in ",
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count(),
                        " ms"));

  auto io = kj::setupAsyncIo();
  ServerInfo info{kVersion, config.data_dir, started, keys.get(), &io.provider->getTimer()};

  kj::Own<kj::ConnectionReceiver> receiver;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 auto address =
                     io.provider->getNetwork().parseAddress(config.listen).wait(io.waitScope);
                 receiver = address->listen();
               })) {
    return fail(absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen, ": ",
                                                    exception->getDescription().cStr())));
  }
  std::string host = config.listen.substr(0, config.listen.rfind(':'));
  const std::string client_address = absl::StrCat(host, ":", receiver->getPort());

  Node& node_ref = **node;
  // Declared before the cluster service, which uses it, so that it is destroyed after it.
  std::unique_ptr<replication::PeerTls> peer_tls;
  std::unique_ptr<ClusterService> cluster;
  std::unique_ptr<ShardForwarder> forwarder;  // used by the API servers: outlives the listener
  if (config.peer_listen.empty() && !config.peer_tls_cert.empty()) {
    log_warning("--peer-tls-* given without --peer-listen: the node runs alone, TLS unused");
  }
  if (!config.peer_listen.empty()) {
    auto tls = make_peer_tls(config);
    if (!tls.ok()) return fail(tls.status());
    peer_tls = *std::move(tls);
    if (peer_tls != nullptr) {
      // A certificate that its key, the CA or the peer name does not fit fails here, not on the
      // first peer.
      KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                     peer_tls->self_check(*io.provider, io.provider->getTimer()).wait(io.waitScope);
                   })) {
        return fail(absl::InvalidArgumentError(absl::StrCat(
            "peer TLS: the certificate, key and CA do not work together (is the key "
            "the certificate's, and is the certificate signed by the CA, valid now "
            "and named ",
            replication::kPeerTlsServerName, "?): ", exception->getDescription().cStr())));
      }
      log_info("peer port: mutual TLS (certificates signed by the peer CA only)");
    } else {
      log_warning(
          "PEER PORT IS PLAINTEXT: replication and gossip are neither encrypted nor "
          "authenticated; anyone who reaches the peer port can join the cluster. Give "
          "--peer-tls-cert, --peer-tls-key and --peer-tls-ca (see docs/security.md)");
    }
    kj::Own<kj::ConnectionReceiver> peer_receiver;
    KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                   auto address = io.provider->getNetwork()
                                      .parseAddress(config.peer_listen)
                                      .wait(io.waitScope);
                   peer_receiver = address->listen();
                 })) {
      return fail(absl::UnavailableError(absl::StrCat("cannot listen on ", config.peer_listen, ": ",
                                                      exception->getDescription().cStr())));
    }
    ClusterOptions cluster_options;
    cluster_options.region = config.region;
    cluster_options.client_address = client_address;
    cluster_options.peer_address = absl::StrCat(
        config.peer_listen.substr(0, config.peer_listen.rfind(':')), ":", peer_receiver->getPort());
    cluster_options.seeds = config.seeds;
    cluster_options.dial_via = config.dial_via;
    cluster_options.peer_tls = peer_tls.get();
    log_info(absl::StrCat("region ", config.region, ", peer address ", cluster_options.peer_address,
                          ", ", config.seeds.size(), " seeds"));
    cluster = std::make_unique<ClusterService>(node_ref, io.provider->getNetwork(),
                                               io.provider->getTimer(), cluster_options);
    cluster_hooks = cluster.get();
    cluster->start(kj::mv(peer_receiver));
    info.cluster = cluster.get();
    forwarder = std::make_unique<ShardForwarder>(io.provider->getNetwork(), *cluster);
    info.forwarder = forwarder.get();
  }
  // Last of the start-up lines: scripts and tests wait for it.
  log_info(absl::StrCat("listening on ", client_address));

  {
    RpcListener listener(*receiver, [&] { return kj::heap<GateServer>(node_ref, info); });
    auto terminate =
        io.unixEventPort.onSignal(SIGTERM).exclusiveJoin(io.unixEventPort.onSignal(SIGINT));
    auto stop = listener.run()
                    .then([]() -> int { return SIGTERM; })
                    .exclusiveJoin(terminate.then([](siginfo_t s) { return s.si_signo; }));
    int signal_number = stop.wait(io.waitScope);
    // Requests run to completion within one event-loop turn, so none is half-done here:
    // every acknowledged write is already committed. Dropping the listener closes connections.
    log_info(absl::StrCat("received ", strsignal(signal_number), ", shutting down with ",
                          listener.open_connections(), " client connections open"));
  }
  receiver = nullptr;
  info.cluster = nullptr;
  cluster_hooks = nullptr;
  cluster.reset();
  peer_tls.reset();
  // Stop the re-seal thread before the store it writes to goes away.
  keys.reset();
  node->reset();
  store->reset();
  log_info("stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace meridian::node

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto config = meridian::node::parse_daemon_args(args);
  if (!config.ok()) {
    std::cerr << "meridiand: " << config.status().message() << "\n"
              << meridian::node::daemon_usage();
    return 2;
  }
  if (config->show_help) {
    std::cout << meridian::node::daemon_usage();
    return 0;
  }
  return meridian::node::run(*config);
}
