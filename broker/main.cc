// telemq: the broker binary, a thin shell over telemq::Broker (server.h).
//
//   telemq [--config FILE] [--port 1883] [--threads N] [--data-dir DIR] ...
//   telemq --help
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when the broker
// cannot start (address in use, kernel without io_uring...), 2 for a bad
// command line or config file.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "broker/base/log.h"
#include "broker/config.h"
#include "broker/server.h"

namespace {

// Descriptors besides client sockets: per shard a ring, a wake-up eventfd, a
// listener and the log's segment, index and prepared files; the data
// directory; what a library might open.
constexpr rlim_t kReservedDescriptors = 256;

// The soft open-file limit (often 1024) caps each shard's table of direct
// descriptors and the process's own descriptors, which take the clients
// beyond those tables: raise it as far as the hard limit allows, up to what
// --max-connections needs. Before the broker starts: the tables are sized
// from it.
void RaiseOpenFileLimit(uint32_t max_connections) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = rlim_t{max_connections} + kReservedDescriptors;
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  if (limit.rlim_cur > before && setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    TELEMQ_LOG(kInfo, "open-file limit raised from %llu to %llu",
               static_cast<unsigned long long>(before),
               static_cast<unsigned long long>(limit.rlim_cur));
  }
}

// Says when the clients the broker can hold (its direct descriptors and the
// process descriptors left over) are fewer than --max-connections.
void CheckClientRoom(uint32_t max_connections, uint64_t direct_slots) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const uint64_t descriptors =
      limit.rlim_cur > kReservedDescriptors ? limit.rlim_cur - kReservedDescriptors : 0;
  const uint64_t room = direct_slots + descriptors;
  if (room >= max_connections) return;
  TELEMQ_LOG(kWarning,
             "the open-file limit (%llu, hard limit %llu) leaves room for about %llu clients "
             "(%llu in io_uring file tables), fewer than --max-connections %u: raise it "
             "(ulimit -n, systemd LimitNOFILE=); beyond it, accepts pause and new clients wait "
             "in the listen backlog",
             static_cast<unsigned long long>(limit.rlim_cur),
             static_cast<unsigned long long>(limit.rlim_max), static_cast<unsigned long long>(room),
             static_cast<unsigned long long>(direct_slots), max_connections);
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<telemq::BrokerConfig> config = telemq::ParseCommandLine(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "telemq: %s\n(run 'telemq --help' for the settings)\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->help) {
    std::fputs(telemq::ConfigUsage().c_str(), stdout);
    return 0;
  }
  telemq::LogLevel level;
  telemq::ParseLogLevel(config->log_level, &level);
  telemq::SetLogLevel(level);

  // Block the stop signals before any thread starts, so they all inherit the
  // mask and only this thread receives them, in sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RaiseOpenFileLimit(config->max_connections);
  telemq::Broker broker(*config);
  if (absl::Status s = broker.Start(); !s.ok()) {
    std::fprintf(stderr, "telemq: cannot start: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  TELEMQ_LOG(kInfo, "telemq %s listening on %s:%u (MQTT 3.1.1/5.0), %u shard threads, data in %s",
             TELEMQ_VERSION, config->host, broker.port(), broker.shard_count(), config->data_dir);
  TELEMQ_LOG(kInfo, "io_uring: %s", broker.io_features());
  CheckClientRoom(config->max_connections, broker.direct_descriptor_slots());
  TELEMQ_LOG(kInfo, "%s", broker.recovery_summary());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  TELEMQ_LOG(kInfo, "received %s: stopping (closing clients, flushing output)",
             signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  broker.Stop();
  broker.Wait();
  TELEMQ_LOG(kInfo, "stopped");
  return 0;
}
