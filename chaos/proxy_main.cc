// meridian-chaos-proxy: the fault-injecting TCP proxy between regions of a local cluster. Prints
// its seed and one "link NAME listening on HOST:PORT -> TARGET" line per link, then runs until
// SIGTERM or SIGINT, and exits 0 after closing everything.
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <random>

#include "chaos/chaos_proxy.h"
#include "chaos/proxy_command_line.h"

int main(int argc, char** argv) {
  using meridian::chaos::ChaosProxy;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto command_line = meridian::chaos::parse_proxy_command_line(args);
  if (!command_line.ok()) {
    std::cerr << "meridian-chaos-proxy: " << command_line.status().message() << "\n"
              << meridian::chaos::kProxyUsage;
    return 2;
  }
  if (command_line->help) {
    std::cout << meridian::chaos::kProxyUsage;
    return 0;
  }
  if (!command_line->seed_given) {
    std::random_device device;
    command_line->options.seed = (uint64_t{device()} << 32) | device();
  }
  // Installed before the proxy starts, so a signal during start-up is not lost; asio delivers
  // it to this io_context whichever thread the kernel picked.
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  auto proxy = ChaosProxy::start(command_line->options);
  if (!proxy.ok()) {
    std::cerr << "meridian-chaos-proxy: " << proxy.status().message() << "\n";
    return 1;
  }
  std::cout << "meridian-chaos-proxy seed " << (*proxy)->seed() << "\n";
  for (const auto& link : (*proxy)->links()) {
    std::cout << "link " << link.name << " listening on "
              << meridian::chaos::format_host_port(link.listen) << " -> "
              << meridian::chaos::format_host_port(link.target) << "\n";
  }
  if (auto control = (*proxy)->control_address()) {
    std::cout << "control listening on " << meridian::chaos::format_host_port(*control) << "\n";
  }
  std::cout << "ready" << std::endl;
  int received = 0;
  signals.async_wait([&received](const asio::error_code& ec, int signal) {
    if (!ec) received = signal;
  });
  signals_io.run();
  (*proxy)->stop();
  std::cout << "stopped on signal " << received << std::endl;
  return 0;
}
