// ChaosProxy: owns the io_context, its thread, the links and the control server; every link
// operation runs on the io thread, callers from other threads post and wait for the result.
#include "chaos/chaos_proxy.h"

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "chaos/address_policy.h"
#include "chaos/internal/control_server.h"
#include "chaos/internal/link.h"

namespace meridian::chaos {
namespace {

// SplitMix64: derives independent per-link seeds from the proxy seed.
uint64_t mix_seed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

absl::Status error_of(const std::string& reply) {
  if (reply.rfind("ok", 0) == 0) return absl::OkStatus();
  std::string message = reply.rfind("error ", 0) == 0 ? reply.substr(6) : reply;
  if (message.rfind("unknown link", 0) == 0) return absl::NotFoundError(message);
  if (message == "proxy stopped") return absl::FailedPreconditionError(message);
  return absl::InvalidArgumentError(message);
}

}  // namespace

class ChaosProxy::Impl {
 public:
  // Declared first so that it is destroyed last: links and the control server refer to it.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::unique_ptr<internal::Link>> links;
  std::unique_ptr<internal::ControlServer> control;
  std::vector<BoundLink> bound;
  std::optional<HostPort> control_address;
  uint64_t seed = 0;
  uint64_t queue_cap_bytes = 0;
  std::thread thread;
  std::atomic<bool> stopped{false};

  // Runs `fn` on the io thread and returns its result.
  template <typename Fn>
  auto on_loop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  // Io thread only.
  std::string execute_here(std::string_view line) {
    auto command = parse_control_command(line);
    if (!command.ok()) return absl::StrCat("error ", command.status().message());
    if (command->kind == ControlCommand::Kind::kStatus) return format_status_reply(status_here());
    std::vector<internal::Link*> matched;
    for (auto& link : links) {
      if (link_matches(command->link, link->name())) matched.push_back(link.get());
    }
    if (matched.empty()) return absl::StrCat("error unknown link ", command->link);
    switch (command->kind) {
      case ControlCommand::Kind::kCut:
        for (internal::Link* link : matched) link->cut();
        return absl::StrCat("ok cut ", command->link);
      case ControlCommand::Kind::kHeal:
        for (internal::Link* link : matched) link->heal();
        return absl::StrCat("ok heal ", command->link);
      default:
        break;
    }
    // Validate against every matched link before changing any, so a set is all or nothing.
    std::vector<FaultProfile> next;
    for (internal::Link* link : matched) {
      FaultProfile p = link->profile();
      absl::Status applied = apply_to_profile(*command, p);
      if (!applied.ok()) return absl::StrCat("error ", applied.message());
      next.push_back(p);
    }
    for (size_t i = 0; i < matched.size(); ++i) matched[i]->profile() = next[i];
    return absl::StrCat("ok set ", command->link, " ", format_fault_profile(next.front()));
  }

  ProxyStatus status_here() const {
    ProxyStatus s;
    s.seed = seed;
    s.queue_cap_bytes = queue_cap_bytes;
    for (const auto& link : links) s.links.push_back(link->status());
    return s;
  }
};

ChaosProxy::ChaosProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ChaosProxy::~ChaosProxy() { stop(); }

absl::StatusOr<std::unique_ptr<ChaosProxy>> ChaosProxy::start(const ProxyOptions& options) {
  absl::Status valid = validate_fault_profile(options.default_profile);
  if (!valid.ok()) return valid;
  if (options.links.empty()) return absl::InvalidArgumentError("no --link given");
  auto policy = AddressPolicy::create(options.allowed_private);
  if (!policy.ok()) return policy.status();

  auto impl = std::make_unique<Impl>();
  impl->seed = options.seed;
  impl->queue_cap_bytes = std::max<uint64_t>(options.queue_cap_bytes, 1);
  for (size_t i = 0; i < options.links.size(); ++i) {
    const LinkSpec& spec = options.links[i];
    if (!valid_link_name(spec.name)) {
      return absl::InvalidArgumentError(absl::StrCat("bad link name '", spec.name, "'"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (options.links[j].name == spec.name) {
        return absl::InvalidArgumentError(absl::StrCat("link name ", spec.name, " used twice"));
      }
    }
    auto target = policy->check(spec.target, absl::StrCat("link ", spec.name, ": target"));
    if (!target.ok()) return target.status();
    auto listen = policy->check(spec.listen, absl::StrCat("link ", spec.name, ": listen address"));
    if (!listen.ok()) return listen.status();
    asio::ip::tcp::endpoint target_ep(asio::ip::make_address(*target), spec.target.port);
    asio::ip::tcp::endpoint listen_ep(asio::ip::make_address(*listen), spec.listen.port);
    auto link =
        std::make_unique<internal::Link>(impl->io, spec.name, target_ep, options.default_profile,
                                         impl->queue_cap_bytes, mix_seed(options.seed, i));
    absl::Status opened = link->open(listen_ep);
    if (!opened.ok()) return opened;
    auto bound = link->listen_endpoint();
    impl->bound.push_back({spec.name, HostPort{bound.address().to_string(), bound.port()},
                           HostPort{*target, spec.target.port}});
    impl->links.push_back(std::move(link));
  }
  if (options.control) {
    // The control socket only ever listens on loopback, whatever --allow-private says.
    auto loopback_only = AddressPolicy::create({});
    auto host = loopback_only->check(*options.control, "control address");
    if (!host.ok()) return host.status();
    Impl* raw = impl.get();
    impl->control = std::make_unique<internal::ControlServer>(
        impl->io, [raw](std::string_view line) { return raw->execute_here(line); });
    absl::Status opened = impl->control->open(
        asio::ip::tcp::endpoint(asio::ip::make_address(*host), options.control->port));
    if (!opened.ok()) return opened;
    auto ep = impl->control->endpoint();
    impl->control_address = HostPort{ep.address().to_string(), ep.port()};
  }
  for (auto& link : impl->links) link->start();
  if (impl->control) impl->control->start();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<ChaosProxy>(new ChaosProxy(std::move(impl)));
}

void ChaosProxy::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    for (auto& link : impl->links) link->close();
    if (impl->control) impl->control->close();
    impl->work.reset();
  });
  // With every socket closed and timer cancelled, run() returns once the last aborted handler
  // has run: no handler outlives the links it refers to.
  impl->thread.join();
}

const std::vector<BoundLink>& ChaosProxy::links() const { return impl_->bound; }

std::optional<HostPort> ChaosProxy::control_address() const { return impl_->control_address; }

uint64_t ChaosProxy::seed() const { return impl_->seed; }

std::string ChaosProxy::execute(std::string_view line) {
  if (impl_->stopped) return "error proxy stopped";
  std::string copy(line);
  Impl* impl = impl_.get();
  return impl->on_loop([impl, copy] { return impl->execute_here(copy); });
}

absl::StatusOr<ProxyStatus> ChaosProxy::status() {
  if (impl_->stopped) return absl::FailedPreconditionError("proxy stopped");
  Impl* impl = impl_.get();
  return impl->on_loop([impl] { return impl->status_here(); });
}

absl::Status ChaosProxy::cut(std::string_view link) {
  return error_of(execute(absl::StrCat("cut ", std::string(link))));
}

absl::Status ChaosProxy::heal(std::string_view link) {
  return error_of(execute(absl::StrCat("heal ", std::string(link))));
}

absl::Status ChaosProxy::set_profile(std::string_view link, const FaultProfile& profile) {
  absl::Status valid = validate_fault_profile(profile);
  if (!valid.ok()) return valid;
  if (impl_->stopped) return absl::FailedPreconditionError("proxy stopped");
  std::string name(link);
  Impl* impl = impl_.get();
  return impl->on_loop([impl, name, profile]() -> absl::Status {
    bool found = false;
    for (auto& l : impl->links) {
      if (link_matches(name, l->name())) {
        l->profile() = profile;
        found = true;
      }
    }
    return found ? absl::OkStatus() : absl::NotFoundError(absl::StrCat("unknown link ", name));
  });
}

}  // namespace meridian::chaos
