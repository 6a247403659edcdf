// ChaosControl over plain POSIX sockets, with poll() for the reply deadline.
#include "chaos/chaos_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace meridian::chaos {

absl::StatusOr<ChaosControl> ChaosControl::connect(const HostPort& address,
                                                   std::chrono::milliseconds timeout) {
  std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* sa = nullptr;
  socklen_t len = 0;
  int family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(address.port);
    sa = reinterpret_cast<const sockaddr*>(&v4);
    len = sizeof(v4);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    family = AF_INET6;
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(address.port);
    sa = reinterpret_cast<const sockaddr*>(&v6);
    len = sizeof(v6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("control address ", address.host, " is not a numeric IP address"));
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  if (::connect(fd, sa, len) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to chaos control ", format_host_port(address), ": ", std::strerror(err)));
  }
  return ChaosControl(fd, timeout);
}

ChaosControl::ChaosControl(ChaosControl&& other) noexcept
    : fd_(other.fd_), timeout_(other.timeout_), buffered_(std::move(other.buffered_)) {
  other.fd_ = -1;
}

ChaosControl& ChaosControl::operator=(ChaosControl&& other) noexcept {
  if (this != &other) {
    close_fd();
    fd_ = other.fd_;
    timeout_ = other.timeout_;
    buffered_ = std::move(other.buffered_);
    other.fd_ = -1;
  }
  return *this;
}

ChaosControl::~ChaosControl() { close_fd(); }

void ChaosControl::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::StatusOr<std::string> ChaosControl::command(std::string_view line) {
  if (fd_ < 0) return absl::FailedPreconditionError("chaos control connection is closed");
  std::string request = absl::StrCat(std::string(line), "\n");
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_fd();
      return absl::UnavailableError(absl::StrCat("chaos control send: ", std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (true) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string reply = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return reply;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      close_fd();
      return absl::DeadlineExceededError("no reply from the chaos proxy in time");
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_fd();
      return absl::UnavailableError("chaos proxy closed the control connection");
    }
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

absl::Status ChaosControl::expect_ok(std::string_view line) {
  auto reply = command(line);
  if (!reply.ok()) return reply.status();
  if (reply->rfind("ok", 0) == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(*reply);
}

absl::StatusOr<ProxyStatus> ChaosControl::status() {
  auto reply = command("status");
  if (!reply.ok()) return reply.status();
  return parse_status_reply(*reply);
}

absl::Status ChaosControl::cut(std::string_view link) {
  return expect_ok(absl::StrCat("cut ", std::string(link)));
}

absl::Status ChaosControl::heal(std::string_view link) {
  return expect_ok(absl::StrCat("heal ", std::string(link)));
}

absl::Status ChaosControl::set_delay(std::string_view link, uint32_t min_ms, uint32_t max_ms) {
  return expect_ok(absl::StrCat("set ", std::string(link), " delay ", min_ms, " ", max_ms));
}

absl::Status ChaosControl::set_reset_prob(std::string_view link, double probability) {
  return expect_ok(absl::StrCat("set ", std::string(link), " reset-prob ", probability));
}

absl::Status ChaosControl::set_stall_prob(std::string_view link, double probability,
                                          uint32_t stall_ms) {
  return expect_ok(
      absl::StrCat("set ", std::string(link), " stall-prob ", probability, " ", stall_ms));
}

absl::Status ChaosControl::set_bandwidth(std::string_view link, uint64_t bytes_per_s) {
  return expect_ok(absl::StrCat("set ", std::string(link), " bandwidth ", bytes_per_s));
}

}  // namespace meridian::chaos
