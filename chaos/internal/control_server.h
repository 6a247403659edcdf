// The chaos proxy's control socket: accepts loopback connections and answers each request line
// with the one-line reply of a handler.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace meridian::chaos::internal {

class ControlSession;

// Thread safety: none; used only on the thread running the io_context, which also runs the
// handler. Must outlive the handlers of its sessions (ChaosProxy drains the io_context first).
class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view line)>;
  ControlServer(asio::io_context& io, Handler handler);
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds and listens; Unavailable when that fails.
  absl::Status open(const asio::ip::tcp::endpoint& endpoint);
  void start();
  // Closes the listening socket and every session.
  void close();
  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }

  // Used by ControlSession.
  std::string handle(std::string_view line) { return handler_(line); }
  void on_session_closed(uint64_t id) { sessions_.erase(id); }

 private:
  void accept_next();

  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint endpoint_;
  Handler handler_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<ControlSession>> sessions_;
};

}  // namespace meridian::chaos::internal
