// Relay of the chaos proxy: accept, connect, delay each chunk in a per-direction queue whose
// release times never decrease (so bytes keep their order), bound the queue, inject faults.
#include "chaos/internal/link.h"

#include <algorithm>
#include <asio/connect.hpp>
#include <asio/write.hpp>

#include "absl/strings/str_cat.h"

namespace meridian::chaos::internal {
namespace {

// Largest single read; the queue cap bounds what is held in total.
constexpr size_t kReadChunk = 64 * 1024;
constexpr std::chrono::milliseconds kAcceptRetry{50};

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  HostPort hp{e.address().to_string(), e.port()};
  return format_host_port(hp);
}

// Closing with SO_LINGER {on, 0} sends a TCP RST instead of a FIN: the peer sees a reset.
void reset_socket(asio::ip::tcp::socket& s) {
  asio::error_code ignored;
  if (!s.is_open()) return;
  s.set_option(asio::socket_base::linger(true, 0), ignored);
  s.close(ignored);
}

}  // namespace

Link::Link(asio::io_context& io, std::string name, asio::ip::tcp::endpoint target,
           FaultProfile profile, uint64_t queue_cap_bytes, uint64_t seed)
    : name_(std::move(name)),
      target_(std::move(target)),
      acceptor_(io),
      accept_retry_(io),
      profile_(profile),
      queue_cap_bytes_(std::max<uint64_t>(queue_cap_bytes, 1)),
      rng_(seed) {}

absl::Status Link::open(const asio::ip::tcp::endpoint& listen) {
  asio::error_code ec;
  acceptor_.open(listen.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(listen, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) listen_endpoint_ = acceptor_.local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("link ", name_, ": cannot listen on ",
                                               endpoint_text(listen), ": ", ec.message()));
  }
  return absl::OkStatus();
}

void Link::start() { accept_next(); }

void Link::accept_next() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (closed_) return;
    if (ec) {
      // Transient accept errors (EMFILE, ECONNABORTED) must not stop the link; retrying after
      // a pause avoids spinning while descriptors are exhausted.
      if (ec == asio::error::operation_aborted) return;
      accept_retry_.expires_after(kAcceptRetry);
      accept_retry_.async_wait([this](const asio::error_code& ec) {
        if (!ec && !closed_) accept_next();
      });
      return;
    }
    ++counters_.accepted_connections;
    if (cut_) {
      ++counters_.closed_by_cut;
      reset_socket(socket);
      accept_next();
      return;
    }
    uint64_t id = next_id_++;
    std::optional<Clock::duration> reset_after;
    if (profile_.reset_prob > 0 && std::bernoulli_distribution(profile_.reset_prob)(rng_)) {
      uint64_t ms = std::uniform_int_distribution<uint64_t>(0, profile_.reset_after_max_ms)(rng_);
      reset_after = std::chrono::milliseconds(ms);
    }
    auto connection = std::make_shared<Connection>(*this, id, std::move(socket), rng_());
    connections_.emplace(id, connection);
    connection->start(target_, reset_after);
    accept_next();
  });
}

void Link::close() {
  closed_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  auto connections = connections_;  // abort() erases from connections_
  for (auto& [id, c] : connections) c->abort();
}

void Link::cut() {
  cut_ = true;
  auto connections = connections_;
  counters_.closed_by_cut += connections.size();
  for (auto& [id, c] : connections) c->abort();
}

void Link::heal() { cut_ = false; }

LinkStatus Link::status() const {
  LinkStatus s = counters_;
  s.name = name_;
  s.listen = endpoint_text(listen_endpoint_);
  s.target = endpoint_text(target_);
  s.cut = cut_;
  s.profile = profile_;
  s.active_connections = connections_.size();
  return s;
}

void Link::on_connection_closed(uint64_t id) { connections_.erase(id); }

Connection::Connection(Link& link, uint64_t id, asio::ip::tcp::socket client, uint64_t seed)
    : link_(link),
      id_(id),
      client_(std::move(client)),
      target_(client_.get_executor()),
      reset_timer_(client_.get_executor()),
      dirs_{Direction(client_.get_executor()), Direction(client_.get_executor())},
      rng_(seed) {}

void Connection::start(const asio::ip::tcp::endpoint& target,
                       std::optional<Clock::duration> reset_after) {
  auto self = shared_from_this();
  if (reset_after) {
    reset_timer_.expires_after(*reset_after);
    reset_timer_.async_wait([self](const asio::error_code& ec) {
      if (ec || self->closed_) return;
      ++self->link_.counters().injected_resets;
      self->abort();
    });
  }
  target_.async_connect(target, [self](const asio::error_code& ec) {
    if (self->closed_) return;
    if (ec) {
      self->abort();  // the client sees a reset, as it would from a refused peer behind a NAT
      return;
    }
    asio::error_code ignored;
    self->target_.set_option(asio::ip::tcp::no_delay(true), ignored);
    self->client_.set_option(asio::ip::tcp::no_delay(true), ignored);
    self->read(0);
    self->read(1);
  });
}

void Connection::read(int d) {
  Direction& dir = dirs_[d];
  uint64_t cap = link_.queue_cap_bytes();
  // Back-pressure: while the queue is full, stop reading, so the source's TCP window closes.
  if (closed_ || dir.eof || dir.reading || dir.queued >= cap) return;
  dir.reading = true;
  dir.read_buffer.resize(std::min<uint64_t>(kReadChunk, cap - dir.queued));
  auto self = shared_from_this();
  source(d).async_read_some(
      asio::buffer(dir.read_buffer),
      [self, d](const asio::error_code& ec, size_t n) { self->on_read(d, ec, n); });
}

void Connection::on_read(int d, const asio::error_code& ec, size_t n) {
  Direction& dir = dirs_[d];
  dir.reading = false;
  if (closed_) return;
  if (ec == asio::error::eof) {
    dir.eof = true;
    pump(d);  // forwards the FIN once the queue has drained
    return;
  }
  if (ec) {
    abort();  // a reset or error on one side becomes a reset on the other
    return;
  }
  Chunk chunk{std::vector<char>(dir.read_buffer.begin(), dir.read_buffer.begin() + n),
              release_time(dir, n)};
  dir.queue.push_back(std::move(chunk));
  dir.queued += n;
  LinkStatus& counters = link_.counters();
  counters.queued_bytes += n;
  counters.peak_queued_bytes = std::max(counters.peak_queued_bytes, dir.queued);
  read(d);
  pump(d);
}

Clock::time_point Connection::release_time(Direction& dir, size_t n) {
  const FaultProfile& p = link_.profile();
  Clock::time_point now = Clock::now();
  Clock::time_point base = now;
  if (p.bandwidth_bytes_per_s > 0) {
    auto wire_time = std::chrono::microseconds(n * 1'000'000 / p.bandwidth_bytes_per_s);
    dir.wire_free_at = std::max(dir.wire_free_at, now) + wire_time;
    base = dir.wire_free_at;
  }
  uint64_t delay_us = std::uniform_int_distribution<uint64_t>(
      uint64_t{p.delay_min_ms} * 1000, uint64_t{p.delay_max_ms} * 1000)(rng_);
  if (p.stall_prob > 0 && std::bernoulli_distribution(p.stall_prob)(rng_)) {
    delay_us += uint64_t{p.stall_ms} * 1000;
  }
  // Monotonic release: a chunk never overtakes an earlier one of the same direction.
  dir.last_release = std::max(dir.last_release, base + std::chrono::microseconds(delay_us));
  return dir.last_release;
}

void Connection::pump(int d) {
  Direction& dir = dirs_[d];
  if (closed_ || dir.writing) return;
  if (dir.queue.empty()) {
    if (dir.eof && !dir.shut_down) {
      dir.shut_down = true;
      asio::error_code ignored;
      sink(d).shutdown(asio::socket_base::shutdown_send, ignored);
      if (dirs_[0].shut_down && dirs_[1].shut_down) close_gracefully();
    }
    return;
  }
  dir.writing = true;
  dir.timer.expires_at(dir.queue.front().release);
  auto self = shared_from_this();
  dir.timer.async_wait([self, d](const asio::error_code& ec) {
    Direction& dir = self->dirs_[d];
    if (self->closed_ || ec) return;
    asio::async_write(self->sink(d), asio::buffer(dir.queue.front().bytes),
                      [self, d](const asio::error_code& ec, size_t n) {
                        Direction& dir = self->dirs_[d];
                        dir.writing = false;
                        if (self->closed_) return;
                        if (ec) {
                          self->abort();
                          return;
                        }
                        LinkStatus& counters = self->link_.counters();
                        counters.bytes_forwarded += n;
                        counters.queued_bytes -= n;
                        dir.queued -= n;
                        dir.queue.pop_front();
                        self->read(d);  // resumes a read paused by back-pressure
                        self->pump(d);
                      });
  });
}

void Connection::close_gracefully() {
  closed_ = true;
  asio::error_code ignored;
  client_.close(ignored);
  target_.close(ignored);
  reset_timer_.cancel();
  leave_link();
}

void Connection::abort() {
  if (closed_) return;
  closed_ = true;
  reset_socket(client_);
  reset_socket(target_);
  reset_timer_.cancel();
  for (Direction& dir : dirs_) dir.timer.cancel();
  leave_link();
}

void Connection::leave_link() {
  for (Direction& dir : dirs_) {
    // The chunks themselves are freed with the Connection: an aborted write may still refer
    // to the front one until its handler has run.
    link_.counters().queued_bytes -= dir.queued;
    dir.queued = 0;
  }
  link_.on_connection_closed(id_);  // may destroy the map's reference; handlers hold another
}

}  // namespace meridian::chaos::internal
