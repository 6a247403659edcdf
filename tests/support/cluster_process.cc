// LocalCluster: real meridiand processes and one meridian-chaos-proxy; see cluster_process.h.
#include "tests/support/cluster_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "chaos/chaos_control.h"

namespace meridian::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string last_lines(const std::string& text, size_t lines) {
  size_t at = text.size();
  if (at > 0 && text[at - 1] == '\n') --at;
  for (size_t n = 0; n < lines; ++n) {
    size_t nl = at == 0 ? std::string::npos : text.rfind('\n', at - 1);
    if (nl == std::string::npos) return text;
    at = nl;
  }
  return text.substr(at + 1);
}

// True when nothing (not even a TIME_WAIT socket) holds 127.0.0.1:port.
bool port_is_free(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// `count` distinct free loopback ports below the kernel's ephemeral range, so that no outgoing
// connection takes one as its source port while its node is down for a restart.
absl::StatusOr<std::vector<uint16_t>> pick_fixed_ports(size_t count) {
  int ephemeral_low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  if (int low = 0; range >> low && low > 12000) ephemeral_low = low;
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(ephemeral_low - 10000, ephemeral_low - 1);
  std::set<uint16_t> chosen;
  for (int attempt = 0; attempt < 10000 && chosen.size() < count; ++attempt) {
    auto port = static_cast<uint16_t>(pick(random));
    if (!chosen.contains(port) && port_is_free(port)) chosen.insert(port);
  }
  if (chosen.size() < count) return absl::ResourceExhaustedError("no free loopback ports");
  std::vector<uint16_t> out(chosen.begin(), chosen.end());
  std::shuffle(out.begin(), out.end(), random);
  return out;
}

}  // namespace

// A meridian-chaos-proxy child with stdout and stderr in a file; SIGKILLed if still running.
class LocalCluster::ProxyProcess {
 public:
  ProxyProcess(std::vector<std::string> args, std::filesystem::path log) : log_(std::move(log)) {
    std::string binary = built_binary("chaos/meridian-chaos-proxy").string();
    std::vector<char*> argv{binary.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ofstream(log_, std::ios::trunc).close();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_APPEND);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~ProxyProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  std::string log() const { return read_file(log_); }

  // Waits for the "ready" line; false when the process exits or the deadline passes first.
  bool wait_ready(milliseconds deadline) {
    auto until = steady_clock::now() + deadline;
    while (steady_clock::now() < until) {
      if (log().find("\nready\n") != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return false;
      }
      std::this_thread::sleep_for(milliseconds(10));  // polls the log; bounds CPU only
    }
    return false;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::start(const std::filesystem::path& root,
                                                                  LocalClusterOptions options) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  cluster->options_ = std::move(options);
  const LocalClusterOptions& o = cluster->options_;
  const size_t n = o.regions.size() * o.nodes_per_region;
  if (n == 0) return absl::InvalidArgumentError("a cluster needs at least one node");
  if (!o.key_files.empty() && o.key_files.size() != n) {
    return absl::InvalidArgumentError("key_files: one per node, or none");
  }
  auto ports = pick_fixed_ports(2 * n);
  if (!ports.ok()) return ports.status();
  for (size_t r = 0; r < o.regions.size(); ++r) {
    for (size_t i = 0; i < o.nodes_per_region; ++i) {
      const size_t k = cluster->nodes_.size();
      Node node;
      node.spec.region = o.regions[r];
      node.spec.name = absl::StrCat(o.regions[r], "-", i + 1);
      node.spec.client_address = absl::StrCat("127.0.0.1:", (*ports)[2 * k]);
      node.spec.peer_address = absl::StrCat("127.0.0.1:", (*ports)[2 * k + 1]);
      node.spec.dir = root / node.spec.name;
      std::filesystem::create_directories(node.spec.dir);
      cluster->nodes_.push_back(std::move(node));
    }
  }

  // The proxy: one link per (region, node of another region), on ports it picks itself.
  std::vector<std::string> proxy_args;
  for (const auto& region : o.regions) {
    for (const auto& node : cluster->nodes_) {
      if (node.spec.region == region) continue;
      proxy_args.push_back("--link");
      proxy_args.push_back(
          absl::StrCat(region, "-to-", node.spec.name, "=127.0.0.1:0->", node.spec.peer_address));
    }
  }
  std::map<std::string, std::string> link_listen;  // link name -> its listening address
  if (!proxy_args.empty()) {
    for (const char* a : {"--delay-ms", o.proxy_delay_ms.c_str(), "--control", "127.0.0.1:0"}) {
      proxy_args.push_back(a);
    }
    cluster->proxy_ = std::make_unique<ProxyProcess>(proxy_args, root / "proxy.log");
    if (!cluster->proxy_->wait_ready(o.start_deadline)) {
      return absl::InternalError(
          absl::StrCat("the chaos proxy did not start:\n", cluster->proxy_->log()));
    }
    const std::string log = cluster->proxy_->log();
    std::regex link_line(R"(link (\S+) listening on (\S+) -> )");
    for (std::sregex_iterator it(log.begin(), log.end(), link_line), end; it != end; ++it) {
      link_listen[(*it)[1].str()] = (*it)[2].str();
    }
    std::smatch control;
    if (!std::regex_search(log, control,
                           std::regex(R"(control listening on 127\.0\.0\.1:(\d+))"))) {
      return absl::InternalError(absl::StrCat("no control address in the proxy log:\n", log));
    }
    cluster->control_port_ = static_cast<uint16_t>(std::stoi(control[1].str()));
  }

  const std::string seed = cluster->nodes_[0].spec.peer_address;
  for (size_t k = 0; k < n; ++k) {
    Node& node = cluster->nodes_[k];
    node.args = {"--data-dir",    (node.spec.dir / "data").string(),
                 "--listen",      node.spec.client_address,
                 "--peer-listen", node.spec.peer_address,
                 "--region",      node.spec.region,
                 "--seeds",       seed};
    if (o.key_files.empty()) {
      node.args.push_back("--insecure-no-encryption");
    } else {
      node.args.push_back("--key-file");
      node.args.push_back(o.key_files[k].string());
    }
    if (k < o.node_args.size()) {
      node.args.insert(node.args.end(), o.node_args[k].begin(), o.node_args[k].end());
    }
    for (const auto& other : cluster->nodes_) {
      if (other.spec.region == node.spec.region) continue;
      auto link = link_listen.find(absl::StrCat(node.spec.region, "-to-", other.spec.name));
      if (link == link_listen.end()) {
        return absl::InternalError(absl::StrCat("the proxy did not report its link to ",
                                                other.spec.name, ":\n", cluster->proxy_->log()));
      }
      node.args.push_back("--dial-via");
      node.args.push_back(absl::StrCat(other.spec.peer_address, "=", link->second));
    }
    if (std::find(o.deferred_nodes.begin(), o.deferred_nodes.end(), k) != o.deferred_nodes.end()) {
      continue;
    }
    if (auto s = cluster->start_node(k); !s.ok()) return s;
  }
  return cluster;
}

LocalCluster::~LocalCluster() {
  // DaemonProcess and ProxyProcess SIGKILL their processes; nodes first, then the proxy.
  nodes_.clear();
  proxy_.reset();
}

absl::Status LocalCluster::start_node(size_t i) {
  Node& node = nodes_[i];
  const std::filesystem::path log = node.spec.dir / "meridiand.log";
  // Keep the previous run's log (DaemonProcess truncates it) for failure messages.
  if (std::filesystem::exists(log)) {
    std::ofstream(node.spec.dir / "meridiand.previous.log", std::ios::app) << read_file(log);
  }
  node.process = std::make_unique<DaemonProcess>(node.args, log);
  auto listening = node.process->wait_listening(options_.start_deadline);
  if (!listening.has_value()) {
    std::string text = node.process->log();
    node.process.reset();
    return absl::InternalError(absl::StrCat(node.spec.name, " did not start:\n", text));
  }
  if (*listening != node.spec.client_address) {
    return absl::InternalError(absl::StrCat(node.spec.name, " listens on ", *listening, ", not on ",
                                            node.spec.client_address));
  }
  return absl::OkStatus();
}

std::vector<size_t> LocalCluster::nodes_in(const std::string& region) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].spec.region == region) out.push_back(i);
  }
  return out;
}

bool LocalCluster::running(size_t i) {
  return nodes_[i].process != nullptr && !nodes_[i].process->wait_exit(milliseconds(1));
}

std::vector<size_t> LocalCluster::live_nodes() {
  std::vector<size_t> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (running(i)) out.push_back(i);
  }
  return out;
}

absl::Status LocalCluster::control(const std::string& verb, const std::string& region) {
  if (control_port_ == 0) return absl::FailedPreconditionError("this cluster has no proxy");
  if (nodes_in(region).empty()) return absl::NotFoundError(absl::StrCat("no region ", region));
  auto connection = chaos::ChaosControl::connect(chaos::HostPort{"127.0.0.1", control_port_});
  if (!connection.ok()) return connection.status();
  // Out of the region: "<region>-to-*"; into it: "<other>-to-<node of region>".
  std::vector<std::string> links = {absl::StrCat(region, "-to-*")};
  for (size_t i : nodes_in(region)) {
    for (const auto& other : options_.regions) {
      if (other != region) links.push_back(absl::StrCat(other, "-to-", nodes_[i].spec.name));
    }
  }
  for (const auto& link : links) {
    auto s = verb == "cut" ? connection->cut(link) : connection->heal(link);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::cut_region(const std::string& region) { return control("cut", region); }

absl::Status LocalCluster::heal_region(const std::string& region) {
  return control("heal", region);
}

absl::Status LocalCluster::kill_node(size_t i) {
  Node& node = nodes_[i];
  if (node.process == nullptr) return absl::FailedPreconditionError("not running");
  auto exit = node.process->stop(SIGKILL, std::chrono::seconds(10));
  node.process.reset();
  if (!exit.has_value()) return absl::InternalError(absl::StrCat(node.spec.name, " did not die"));
  return absl::OkStatus();
}

absl::Status LocalCluster::stop_node(size_t i) {
  Node& node = nodes_[i];
  if (node.process == nullptr) return absl::FailedPreconditionError("not running");
  auto exit = node.process->stop(SIGTERM, std::chrono::seconds(20));
  std::string log = node.process->log();
  node.process.reset();
  if (!exit.has_value() || !WIFEXITED(*exit) || WEXITSTATUS(*exit) != 0) {
    return absl::InternalError(absl::StrCat(node.spec.name, " did not stop cleanly:\n", log));
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::restart_node(size_t i) {
  if (nodes_[i].process != nullptr) return absl::FailedPreconditionError("still running");
  return start_node(i);
}

absl::StatusOr<std::string> LocalCluster::prepare_node(size_t i) {
  Node& node = nodes_[i];
  if (node.process != nullptr) return absl::FailedPreconditionError("still running");
  std::vector<std::string> alone;
  for (size_t a = 0; a < node.args.size(); ++a) {
    const std::string& arg = node.args[a];
    if (arg == "--peer-listen" || arg == "--seeds" || arg == "--dial-via") {
      ++a;  // and its value
      continue;
    }
    alone.push_back(arg);
  }
  DaemonProcess process(alone, node.spec.dir / "meridiand.prepare.log");
  if (!process.wait_listening(options_.start_deadline).has_value()) {
    return absl::InternalError(absl::StrCat(node.spec.name, " did not start:\n", process.log()));
  }
  auto status = with_client(node.spec.client_address, [](client::Client& c) { return c.status(); });
  if (!status.ok()) return status.status();
  auto exit = process.stop(SIGTERM, std::chrono::seconds(20));
  if (!exit.has_value() || !WIFEXITED(*exit) || WEXITSTATUS(*exit) != 0) {
    return absl::InternalError(
        absl::StrCat(node.spec.name, " did not stop cleanly:\n", process.log()));
  }
  return status->node_id;
}

absl::Status LocalCluster::wipe_node(size_t i) {
  if (nodes_[i].process != nullptr) return absl::FailedPreconditionError("still running");
  std::error_code error;
  std::filesystem::remove_all(nodes_[i].spec.dir / "data", error);
  if (error) return absl::InternalError(error.message());
  return absl::OkStatus();
}

std::string LocalCluster::node_log(size_t i) const {
  return read_file(nodes_[i].spec.dir / "meridiand.log");
}

std::string LocalCluster::proxy_log() const { return proxy_ ? proxy_->log() : ""; }

std::string LocalCluster::logs_tail(size_t lines) const {
  std::string out = absl::StrCat("--- proxy\n", last_lines(proxy_log(), lines));
  for (size_t i = 0; i < nodes_.size(); ++i) {
    absl::StrAppend(&out, "--- ", nodes_[i].spec.name, " (", nodes_[i].spec.client_address, ")\n",
                    last_lines(node_log(i), lines));
  }
  return out;
}

absl::StatusOr<CollectionSnapshot> wait_converged(LocalCluster& cluster,
                                                  const std::string& collection,
                                                  std::optional<uint64_t> expected_count,
                                                  milliseconds deadline) {
  std::string last;
  std::optional<CollectionSnapshot> agreed;
  bool done = wait_until(
      [&] {
        last.clear();
        agreed.reset();
        bool equal = true;
        for (size_t i : cluster.live_nodes()) {
          auto info = with_client(cluster.node(i).client_address,
                                  [&](client::Client& c) { return c.collection_info(collection); });
          if (!info.ok()) {
            absl::StrAppend(&last, " ", cluster.node(i).name, ": ", info.status().ToString());
            equal = false;
            continue;
          }
          absl::StrAppend(&last, " ", cluster.node(i).name, ": ", info->point_count, " points, ",
                          info->digest.substr(0, 16));
          if (!agreed) agreed = CollectionSnapshot{info->digest, info->point_count};
          equal = equal && agreed->digest == info->digest &&
                  (!expected_count || info->point_count == *expected_count);
        }
        return equal && agreed.has_value();
      },
      deadline, milliseconds(100));
  if (done) return *agreed;
  return absl::DeadlineExceededError(absl::StrCat("collection '", collection,
                                                  "' did not converge; last look:", last, "\n",
                                                  describe_replication(cluster)));
}

std::string describe_replication(LocalCluster& cluster) {
  std::string out;
  for (size_t i : cluster.live_nodes()) {
    auto status =
        with_client(cluster.node(i).client_address, [](client::Client& c) { return c.status(); });
    absl::StrAppend(&out, cluster.node(i).name, " (node ",
                    status.ok() ? status->node_id.substr(0, 8) : "?", ")");
    if (!status.ok()) {
      absl::StrAppend(&out, ": ", status.status().ToString(), "\n");
      continue;
    }
    absl::StrAppend(&out, " members:");
    for (const auto& m : status->members) {
      absl::StrAppend(&out, " ", m.node_id.substr(0, 8), "/", m.region, m.up ? "" : "(down)");
    }
    absl::StrAppend(&out, "\n");
    for (const auto& p : status->replication) {
      absl::StrAppend(&out, "  '", p.collection, "' -> ", p.node_id.substr(0, 8), "/", p.region,
                      p.connected ? " connected" : " disconnected", " lag ", p.lag_deltas,
                      " deltas/", p.lag_ms, " ms, full states sent ", p.full_state_transfers,
                      " received ", p.full_states_received, ", reconnects ", p.reconnects,
                      ", bytes sent ", p.bytes_sent, "\n");
    }
  }
  return out;
}

bool wait_until(const std::function<bool()>& condition, milliseconds deadline, milliseconds poll) {
  auto until = steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(poll);  // the condition is the wait; this bounds CPU only
  }
}

}  // namespace meridian::testing
