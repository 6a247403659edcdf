// Control socket sessions: read a line, reply with one line, repeat until the peer closes.
#include "chaos/internal/control_server.h"

#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "chaos/control_protocol.h"

namespace meridian::chaos::internal {

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(ControlServer& server, uint64_t id, asio::ip::tcp::socket socket)
      : server_(server), id_(id), socket_(std::move(socket)), input_(kMaxControlLine + 1) {}

  void read_line() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, input_, '\n',
                           [self](const asio::error_code& ec, size_t n) { self->on_line(ec, n); });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
    server_.on_session_closed(id_);
  }

 private:
  void on_line(const asio::error_code& ec, size_t n) {
    if (closed_) return;
    if (ec == asio::error::not_found) {  // no newline within kMaxControlLine bytes
      reply_ = absl::StrCat("error request longer than ", kMaxControlLine, " bytes\n");
      auto self = shared_from_this();
      asio::async_write(socket_, asio::buffer(reply_),
                        [self](const asio::error_code&, size_t) { self->close(); });
      return;
    }
    if (ec) {
      close();
      return;
    }
    std::string line(asio::buffers_begin(input_.data()), asio::buffers_begin(input_.data()) + n);
    input_.consume(n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    reply_ = server_.handle(line) + "\n";
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(reply_), [self](const asio::error_code& ec, size_t) {
      if (self->closed_) return;
      if (ec) {
        self->close();
        return;
      }
      self->read_line();
    });
  }

  ControlServer& server_;
  uint64_t id_;
  asio::ip::tcp::socket socket_;
  asio::streambuf input_;
  std::string reply_;
  bool closed_ = false;
};

ControlServer::ControlServer(asio::io_context& io, Handler handler)
    : acceptor_(io), handler_(std::move(handler)) {}

absl::Status ControlServer::open(const asio::ip::tcp::endpoint& endpoint) {
  asio::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) endpoint_ = acceptor_.local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen for control on ",
                                               endpoint.address().to_string(), ":", endpoint.port(),
                                               ": ", ec.message()));
  }
  return absl::OkStatus();
}

void ControlServer::start() { accept_next(); }

void ControlServer::accept_next() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (closed_) return;
    if (!ec) {
      uint64_t id = next_id_++;
      auto session = std::make_shared<ControlSession>(*this, id, std::move(socket));
      sessions_.emplace(id, session);
      session->read_line();
    }
    if (ec != asio::error::operation_aborted) accept_next();
  });
}

void ControlServer::close() {
  closed_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  auto sessions = sessions_;  // close() erases from sessions_
  for (auto& [id, s] : sessions) s->close();
}

}  // namespace meridian::chaos::internal
